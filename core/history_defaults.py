"""The defaults of regression detection (core.history), apart from its statistics, so that
`bnbench --help` shows them without importing scipy."""

THRESHOLD = 0.05  # the smallest change worth a line; asv's regressions_thresholds default
ALPHA = 0.05
MIN_REPEATS = 5  # below this a two-sided Mann-Whitney U test cannot reach p < 0.05 on 4 vs 4
# Metrics people track over time, and whether a larger value is better.
METRICS = {
    "train_samples_per_s": True,
    "step_ms_median": False,
    "train_time_s": False,
    "total_time_s": False,
    "time_to_target_s": False,
}
