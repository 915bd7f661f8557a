"""The memory a spec needs, estimated without building it: exact parameter and activation
counts against the models core.engine.networks builds, and a limit that names what to lower."""

import itertools

import pytest
import torch
from torch import nn

from core.engine.networks import build_model, param_count
from core.spec.limits import Limits
from core.spec.memory import estimate, input_shape
from core.spec.parse import SpecError
from core.spec.schema import BenchSpec


def module_outputs(model: nn.Sequential, shape: tuple[int, ...]) -> int:
    """Elements every module outputs for one sample (Flatten is a view and holds nothing)."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        if not isinstance(module, nn.Flatten):
            total += output[0].numel()

    for m in model:
        m.register_forward_hook(count)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(2, *shape))
    return total


def specs():
    grid = itertools.product(
        ["mlp", "cnn", "cnn3d", "seednet"],
        ["synthetic", "digits", "wine", "synthetic_regression"],
        ["batchnorm", "none", "groupnorm", "layernorm"],
        [0.0, 0.3],
        [True, False],
        ["all", "fc_only", "conv_only"],
    )
    for family, dataset, norm, p, last, layers in grid:
        kw = dict(family=family, dataset=dataset, norm=norm, dropout_p=p, bn_last_layer=last,
                  dropout_layers=layers, synthetic_image_size=8, groupnorm_groups=4)  # fmt: skip
        if family != "seednet":
            kw.update(width=16, depth=3)
        try:
            spec = BenchSpec(**kw)
            shape, n_out, _ = input_shape(spec)
            yield spec, build_model(spec, shape, n_out), shape
        except (SpecError, ValueError):
            continue  # a combination the spec rules or the model builder refuse


CASES = list(specs())


def test_the_grid_covers_every_family():
    assert {s.family for s, _, _ in CASES} == {"mlp", "cnn", "cnn3d", "seednet"}
    assert len(CASES) > 150


@pytest.mark.parametrize(("spec", "model", "shape"), CASES, ids=lambda v: "")
def test_parameters_and_activations_are_those_of_the_built_model(spec, model, shape):
    est = estimate(spec)
    assert est.parameters == param_count(model)
    assert est.activations_per_sample == module_outputs(model, shape)


def test_the_audits_huge_mlp_is_over_64_gb_of_weights_alone():
    est = estimate(BenchSpec(width=16384, depth=64))
    assert 4 * est.parameters > 64e9
    assert est.total_bytes > 3 * 64e9  # weights, gradients, momentum


def test_adam_keeps_two_states_and_plain_sgd_none():
    base = dict(width=512, depth=2, batch_size=2, infer_batch_sizes=(1,))
    sgd = estimate(BenchSpec(**base, momentum=0.0))
    adam = estimate(BenchSpec(**base, optimizer="adam"))
    assert adam.training_bytes - sgd.training_bytes == 4 * 2 * sgd.parameters


def test_a_layer_benchmark_holds_its_tensors_and_their_gradients():
    shape = (8, 16, 32, 32)
    n = 8 * 16 * 32 * 32
    fwd = estimate(BenchSpec(kind="layer", layer="batchnorm2d", shape=shape))
    bwd = estimate(BenchSpec(kind="layer", layer="batchnorm2d", shape=shape, mode="train_fwdbwd"))
    half = estimate(BenchSpec(kind="layer", layer="batchnorm2d", shape=shape, dtype="bfloat16"))
    assert (fwd.total_bytes, bwd.total_bytes, half.total_bytes) == (8 * n, 16 * n, 4 * n)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (dict(width=16384, depth=64), "width"),
        (dict(width=4096, batch_size=32768, synthetic_samples=200_000), "batch_size"),
        (
            dict(width=16, synthetic_samples=10_000_000, synthetic_features=4096),
            "synthetic_samples",
        ),
        (dict(kind="layer", layer="batchnorm2d", shape=(256, 256, 128, 128)), "shape"),
    ],
)
def test_a_spec_over_the_memory_limit_names_what_to_lower_and_the_estimate(spec, field):
    [(named, message)] = Limits(max_model_mb=1024).problems(BenchSpec(**spec))
    assert named == field
    assert "MiB" in message and "limit of 1,024 MiB (BNBENCH_MAX_MODEL_MB)" in message


def test_the_memory_limit_comes_from_the_environment_or_the_workers_default(monkeypatch):
    monkeypatch.delenv("BNBENCH_MAX_MODEL_MB", raising=False)
    assert Limits.from_env().max_model_mb is None
    assert Limits.from_env(default_model_mb=512).max_model_mb == 512
    monkeypatch.setenv("BNBENCH_MAX_MODEL_MB", "2048")
    assert Limits.from_env(default_model_mb=512).max_model_mb == 2048


def test_data_counts_the_host_array_the_device_tensor_and_the_shuffled_copy():
    spec = BenchSpec(synthetic_samples=1000, synthetic_features=50)
    assert estimate(spec).data_bytes == 3 * 4 * 1000 * 50
