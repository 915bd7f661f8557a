"""Named starting points for `bnbench run --preset NAME`. A preset is a partial spec."""

from __future__ import annotations

from typing import Any

from core.spec.parse import SpecError

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "tiny": (
        "The smallest real job, well under a second on a CPU: checks a deployment end to end.",
        {
            "epochs": 1,
            "batch_size": 16,
            "synthetic_samples": 64,
            "depth": 1,
            "width": 8,
            "device": "cpu",
            "warmup_steps": 1,
            "timed_steps": 2,
            "repeats": 1,
            "infer_batch_sizes": [1],
        },
    ),
    "simplenet": (
        "The article's SimpleNet: Linear(10,20), BatchNorm1d, ReLU, Linear(20,1); no dropout.",
        {"family": "seednet", "dropout_p": 0.0, "epochs": 10, "batch_size": 32},
    ),
    "dropoutnet": (
        "The article's DropoutNet: Linear(10,20), ReLU, Dropout(0.5), Linear(20,1); no BN.",
        {"family": "seednet", "norm": "none", "dropout_p": 0.5, "epochs": 10, "batch_size": 32},
    ),
    "net": (
        "The article's Net: Linear(10,20), BatchNorm1d, ReLU, Dropout(0.5), Linear(20,1).",
        {"family": "seednet", "epochs": 10, "batch_size": 32},
    ),
    "mlp-784": (
        "MLP 784-1024x3 with BN and dropout at batch 1024 (the harness-overhead MLP).",
        {
            "family": "mlp",
            "synthetic_features": 784,
            "width": 1024,
            "depth": 3,
            "batch_size": 1024,
            "synthetic_samples": 16384,
            "epochs": 2,
            "lr": 0.1,
        },
    ),
    "cnn-small": (
        "Small CNN on 32x32 synthetic images at batch 512, bf16 autocast, channels_last.",
        {
            "family": "cnn",
            "synthetic_image_size": 32,
            "width": 32,
            "depth": 3,
            "batch_size": 512,
            "synthetic_samples": 8192,
            "precision": "bf16",
            "channels_last": True,
            "epochs": 2,
        },
    ),
    "digits-cnn": (
        "CNN on scikit-learn's bundled 8x8 digits, dropout only in the FC layer.",
        {
            "family": "cnn",
            "dataset": "digits",
            "width": 16,
            "depth": 2,
            "dropout_layers": "fc_only",
            "epochs": 10,
            "target_val_accuracy": 0.9,
        },
    ),
    "smoke": (
        "A few-second run to check an installation.",
        {
            "family": "mlp",
            "depth": 2,
            "width": 32,
            "synthetic_samples": 512,
            "epochs": 2,
            "batch_size": 32,
            "warmup_steps": 2,
            "timed_steps": 10,
            "repeats": 2,
            "infer_batch_sizes": [1, 32],
        },
    ),
    "bn-layer": (
        "BatchNorm2d forward+backward microbenchmark on a 64x64x32x32 input.",
        {"kind": "layer", "layer": "batchnorm2d", "mode": "train_fwdbwd"},
    ),
}


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        names = ", ".join(PRESETS)
        raise SpecError([("--preset", f"unknown preset {name!r}; choose one of {names}")])
    return dict(PRESETS[name][1])
