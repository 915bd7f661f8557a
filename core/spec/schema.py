"""BenchSpec: the single declaration of a benchmark.

The CLI flags, YAML files, task payloads and the dashboard form all derive from this
model. Its canonical JSON and hash identify a benchmark; `data_root` is left out of
the hash because where the files live does not change what is measured.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.spec.choices import (
    CONV_FAMILIES,
    FAMILY_DEFAULTS,
    GROUPS,
    HASH_NEUTRAL_DEFAULTS,
    MAX_BATCH,
    MAX_DEPTH,
    MAX_EPOCHS,
    MAX_LAYER_NUMEL,
    MAX_SAMPLES,
    MAX_STEPS,
    MAX_WIDTH,
    SPEC_VERSION,
)
from core.spec.rules import check_spec
from core.storable import unstorable


def _f(group: str, default: Any, description: str, **kw: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"group": group}, **kw)


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class BenchSpec(BaseModel):
    """One benchmark, fully specified. Every field has a default; override what you study."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    spec_version: Literal[1] = _f("kind", SPEC_VERSION, "Version of this schema.")
    kind: Literal["model", "layer"] = _f(
        "kind", "model", "model: train a network then benchmark inference; layer: time one layer."
    )

    # --- model ---
    family: Literal["mlp", "cnn", "cnn3d", "seednet"] = _f(
        "model", "mlp", "Network family; seednet is the article's Net (10-20-1, BN, Dropout)."
    )
    depth: int = _f(
        "model", 3, "Hidden blocks (Linear or Conv, norm, activation, dropout).", ge=1, le=MAX_DEPTH
    )
    width: int = _f(
        "model",
        256,
        "Units per hidden Linear layer, or channels of the first conv.",
        ge=1,
        le=MAX_WIDTH,
    )
    activation: Literal["relu", "gelu", "silu", "leaky_relu", "sigmoid", "tanh"] = _f(
        "model", "relu", "Activation after each hidden layer."
    )

    # --- normalization ---
    norm: Literal["none", "batchnorm", "layernorm", "groupnorm"] = _f(
        "normalization", "batchnorm", "Normalization layer in each hidden block."
    )
    bn_momentum: float | None = _f(
        "normalization",
        0.1,
        "Running-stats momentum in (0, 1]; null keeps a cumulative average.",
        gt=0,
        le=1,
        allow_inf_nan=False,
    )
    bn_eps: float = _f(
        "normalization",
        1e-5,
        "Added to the variance for stability, in (0, 1].",
        gt=0,
        le=1,
        allow_inf_nan=False,
    )
    bn_affine: bool = _f("normalization", True, "Learn the scale gamma and shift beta.")
    bn_track_running_stats: bool = _f(
        "normalization", True, "Keep running statistics for eval; off uses batch stats in eval."
    )
    bn_position: Literal["before_activation", "after_activation"] = _f(
        "normalization", "before_activation", "Norm between the layer and its activation, or after."
    )
    bn_last_layer: bool = _f(
        "normalization", True, "Normalize the hidden block that feeds the output layer too."
    )
    bn_recalibrate: bool = _f(
        "normalization",
        False,
        "After training, re-estimate BN statistics on the training set, dropout off (precise BN).",
    )
    groupnorm_groups: int = _f(
        "normalization", 8, "Groups for norm=groupnorm; divides width.", ge=1, le=MAX_WIDTH
    )

    # --- dropout ---
    dropout_p: float = _f(
        "dropout",
        0.5,
        "Probability of zeroing a unit in training, in [0, 1).",
        ge=0,
        lt=1,
        allow_inf_nan=False,
    )
    dropout_position: Literal["after_activation", "before_activation", "before_norm"] = _f(
        "dropout",
        "after_activation",
        "Dropout after the activation, right before it, or before the norm layer.",
    )
    dropout_kind: Literal["element", "channel"] = _f(
        "dropout", "element", "element: nn.Dropout; channel: Dropout2d/3d on conv feature maps."
    )
    dropout_layers: Literal["all", "fc_only", "conv_only"] = _f(
        "dropout", "all", "Which hidden layers get dropout."
    )

    # --- data ---
    dataset: Literal[
        "synthetic",
        "synthetic_regression",
        "digits",
        "breast_cancer",
        "wine",
        "mnist",
        "fashion_mnist",
        "cifar10",
        "npz",
    ] = _f("data", "synthetic", "Dataset; all are offline, nothing is downloaded.")
    train_size: int | None = _f(
        "data",
        None,
        "Subsample the training split to this many samples; null keeps all.",
        ge=2,
        le=MAX_SAMPLES,
    )
    val_fraction: float = _f(
        "data",
        0.2,
        "Fraction of the data held out for validation.",
        gt=0,
        le=0.9,
        allow_inf_nan=False,
    )
    test_fraction: float = _f(
        "data",
        0.0,
        "Fraction held out as a test split that no rule or selection touches; 0 keeps none.",
        ge=0,
        le=0.5,
        allow_inf_nan=False,
    )
    data_root: str = _f("data", "data", "Folder with mnist/, fashion_mnist/, cifar10/ or the npz.")
    npz_file: str = _f("data", "data.npz", "For dataset=npz: file under data_root with x and y.")
    synthetic_samples: int = _f(
        "data", 4096, "Samples generated for synthetic datasets.", ge=16, le=MAX_SAMPLES
    )
    synthetic_features: int = _f(
        "data", 32, "Features of synthetic (flat) classification data.", ge=1, le=MAX_WIDTH
    )
    synthetic_image_size: int = _f(
        "data",
        16,
        "Side of synthetic images (cnn: 3 channels) or volumes (cnn3d: 1 channel).",
        ge=4,
        le=512,
    )
    synthetic_classes: int = _f(
        "data", 10, "Classes of synthetic classification data.", ge=2, le=1000
    )
    synthetic_difficulty: float = _f(
        "data", 0.5, "0 is well separated, 1 is mostly noise.", ge=0, le=1, allow_inf_nan=False
    )
    seed: int = _f(
        "data", 0, "Seeds initialization, the data split and the dropout masks.", ge=0, le=2**31 - 1
    )

    # --- optimization ---
    optimizer: Literal["sgd", "adam", "adamw"] = _f("optimization", "sgd", "Optimizer.")
    lr: float = _f(
        "optimization", 0.05, "Learning rate, in (0, 10].", gt=0, le=10, allow_inf_nan=False
    )
    momentum: float = _f(
        "optimization",
        0.9,
        "SGD momentum in [0, 1) (beta1 for Adam).",
        ge=0,
        lt=1,
        allow_inf_nan=False,
    )
    weight_decay: float = _f(
        "optimization", 0.0, "L2 weight decay, in [0, 1].", ge=0, le=1, allow_inf_nan=False
    )
    batch_size: int = _f("optimization", 64, "Training batch size.", ge=1, le=MAX_BATCH)
    epochs: int = _f("optimization", 5, "Training epochs.", ge=1, le=MAX_EPOCHS)
    target_val_accuracy: float | None = _f(
        "optimization",
        None,
        "Validation accuracy to reach for time-to-accuracy; null: none.",
        gt=0,
        le=1,
        allow_inf_nan=False,
    )

    # --- runtime ---
    device: str = _f(
        "runtime", "auto", "auto, cpu, cuda or cuda:N.", pattern=r"^(auto|cpu|cuda(:\d{1,2})?)$"
    )
    gpu_model: str | None = _f(
        "runtime",
        None,
        "Run only on this GPU model, e.g. h100 (queue gpu.<model>); null: any.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$",
    )
    precision: Literal["fp32", "bf16", "fp16"] = _f(
        "runtime", "fp32", "fp32, or bf16/fp16 autocast for forward and loss."
    )
    channels_last: bool = _f("runtime", False, "Use channels_last memory format (cnn only).")
    compile: Literal["none", "default", "reduce-overhead"] = _f(
        "runtime", "none", "torch.compile mode for the model (or the layer)."
    )
    cuda_graph: bool = _f(
        "runtime", False, "Capture the whole training step in one CUDA graph (CUDA only)."
    )
    deterministic: bool = _f("runtime", False, "Use deterministic algorithms (slower).")
    threads: int | None = _f(
        "runtime",
        None,
        "torch CPU threads; null: BNBENCH_THREADS, else the fastest count up to the worker's "
        "share of the cores, tried on a copy of the model.",
        ge=1,
        le=1024,
    )

    # --- measurement ---
    warmup_steps: int = _f(
        "measurement", 5, "Untimed steps before timing starts.", ge=0, le=MAX_STEPS
    )
    timed_steps: int = _f(
        "measurement",
        50,
        "Timed steps per measurement; in training, spread evenly over the steps after warm-up.",
        ge=1,
        le=MAX_STEPS,
    )
    infer_batch_sizes: tuple[int, ...] = _f(
        "measurement",
        (1, 64, 256),
        "Batch sizes for the inference benchmark.",
        min_length=1,
        max_length=16,
    )
    repeats: int = _f(
        "measurement", 5, "Timed rounds for inference and layer benchmarks.", ge=1, le=1000
    )

    # --- layer ---
    layer: Literal[
        "batchnorm1d", "batchnorm2d", "batchnorm3d", "dropout", "dropout2d", "bn_relu_dropout"
    ] = _f("layer", "batchnorm2d", "Layer to time; bn_relu_dropout is the BN-ReLU-Dropout chain.")
    shape: tuple[int, ...] = _f(
        "layer",
        (64, 64, 32, 32),
        "Input shape including the batch dimension.",
        min_length=2,
        max_length=5,
    )
    dtype: Literal["float32", "bfloat16", "float16"] = _f("layer", "float32", "Input dtype.")
    memory_format: Literal["contiguous", "channels_last"] = _f(
        "layer", "contiguous", "Memory format of a 4-D or 5-D input."
    )
    mode: Literal["train_fwd", "train_fwdbwd", "eval_fwd"] = _f(
        "layer", "train_fwd", "Train forward, train forward+backward, or eval forward."
    )

    # ------------------------------------------------------------------ validation
    @model_validator(mode="before")
    @classmethod
    def _fill_family_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        family = data.get("family", "mlp")
        defaults = FAMILY_DEFAULTS.get(family, {})
        return {**defaults, **data}

    @field_validator("data_root", "npz_file", "device", "gpu_model", mode="before")
    @classmethod
    def _storable_text(cls, v: Any) -> Any:
        if isinstance(v, str) and (why := unstorable(v)):
            raise ValueError(why)
        return v

    @field_validator("infer_batch_sizes")
    @classmethod
    def _batch_sizes_in_range(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        for b in v:
            if not 1 <= b <= MAX_BATCH:
                raise ValueError(f"each inference batch size must be in [1, {MAX_BATCH}], got {b}")
        return v

    @field_validator("shape")
    @classmethod
    def _shape_positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 for d in v):
            raise ValueError(f"every dimension must be >= 1, got {list(v)}")
        if math.prod(v) > MAX_LAYER_NUMEL:
            raise ValueError(f"at most {MAX_LAYER_NUMEL} elements; shrink a dimension")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BenchSpec:
        check_spec(self)
        return self

    # ------------------------------------------------------------------ identity
    def canonical_json(self) -> str:
        """Sorted, compact JSON of every field: the form that is hashed and stored."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def _digest(self, exclude: set[str]) -> str:
        # Fields added after results were stored leave the hash alone at their default, so a
        # stored spec keeps its identity (and reuse still finds its results).
        late = {k for k, v in HASH_NEUTRAL_DEFAULTS.items() if getattr(self, k) == v}
        payload = self.model_dump(mode="json", exclude=exclude | late)
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def spec_hash(self) -> str:
        """Stable 16-hex-digit identity of the benchmark (data_root excluded)."""
        return self._digest({"data_root"})

    def repeat_key(self) -> str:
        """Identity without the seed: specs that share it are repeats of one experiment."""
        return self._digest({"data_root", "seed"})

    def with_overrides(self, **changes: Any) -> BenchSpec:
        """A validated copy with some fields changed (model_copy would skip validation)."""
        return BenchSpec.model_validate({**self.model_dump(), **changes})

    @property
    def is_conv(self) -> bool:
        return self.family in CONV_FAMILIES


def field_group(name: str) -> str:
    extra = BenchSpec.model_fields[name].json_schema_extra
    return str(extra["group"]) if isinstance(extra, dict) else "kind"


def fields_by_group() -> dict[str, list[str]]:
    """Field names in declaration order, grouped as in GROUPS."""
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for name in BenchSpec.model_fields:
        out[field_group(name)].append(name)
    return out
