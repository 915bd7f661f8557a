"""Constructed result rows for suite analyses: one row per seed of each arm."""

import pandas as pd

# A classification run that learned: the guards' columns, unless a test sets them.
LEARNED = {
    "spec.epochs": 6,
    "spec.batch_size": 64,
    "n_train": 640,  # 10 optimizer steps per epoch
    "spec.dataset": "synthetic",
    "spec.synthetic_classes": 10,
    "final_val_accuracy": 0.8,
    "final_train_accuracy": 1.0,
    "generalization_gap": 0.2,
}


def rows(metric: str, extra: dict | None = None, **arms) -> pd.DataFrame:
    """Arm a's i-th value of `metric` is seed i's, so arms pair by seed in order."""
    return pd.DataFrame(
        [
            {**LEARNED, **(extra or {}), "arm": a, "spec.seed": seed, metric: v}
            for a, values in arms.items()
            for seed, v in enumerate(values)
        ]
    )
