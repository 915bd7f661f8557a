"""The values and bounds a spec may take, shared by the schema and its rules."""

from __future__ import annotations

from typing import Any

SPEC_VERSION = 1

# Documented upper bounds: a typo must not hold a GPU for days (docs/spec.md).
MAX_EPOCHS = 1000
MAX_WIDTH = 16384
MAX_DEPTH = 64
MAX_BATCH = 65536
MAX_STEPS = 100_000
MAX_LAYER_NUMEL = 2**31 - 1
MAX_SAMPLES = 10_000_000

# Fields added after results were first stored, with the default that leaves a spec's hash
# as it was before the field existed.
HASH_NEUTRAL_DEFAULTS: dict[str, object] = {"test_fraction": 0.0, "threads": None}

IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
TABULAR_DATASETS = ("breast_cancer", "wine")
CONV_FAMILIES = ("cnn", "cnn3d")

# Family defaults filled in before validation, so the canonical JSON always carries them.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"depth": 3, "width": 256},
    "cnn": {"depth": 3, "width": 32},
    "cnn3d": {"depth": 2, "width": 16},
    "seednet": {"depth": 1, "width": 20, "dataset": "synthetic_regression"},
}
SEEDNET_FIXED = {"depth": 1, "width": 20, "activation": "relu"}

# The order of groups is the order of the CLI help and of the dashboard form.
GROUPS: dict[str, str] = {
    "kind": "What is benchmarked",
    "model": "Network",
    "normalization": "Normalization",
    "dropout": "Dropout",
    "data": "Data",
    "optimization": "Optimization",
    "runtime": "Runtime",
    "measurement": "Measurement",
    "layer": "Layer microbenchmark (kind=layer)",
}
