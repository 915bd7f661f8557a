"""The last hidden layer's input distribution: what Ioffe & Szegedy's figure 1 plots."""

import pytest
import torch
from torch import nn

from core.engine.activation_drift import LastHiddenProbe, last_hidden_activation
from core.engine.networks import build_model
from core.engine.run import run
from core.spec.parse import validate_spec


def mlp(norm: str) -> nn.Sequential:
    spec = validate_spec({"family": "mlp", "depth": 3, "width": 16, "activation": "sigmoid",
                          "norm": norm, "dropout_p": 0.2})  # fmt: skip
    torch.manual_seed(0)
    return build_model(spec, (8,), 3)


def last_hidden_linear(model: nn.Sequential) -> nn.Linear:
    return [m for m in model if isinstance(m, nn.Linear)][-2]


def test_the_probe_hooks_the_last_hidden_sigmoid_not_an_earlier_one():
    model = mlp("none")
    sigmoids = [m for m in model if isinstance(m, nn.Sigmoid)]
    assert len(sigmoids) == 3 and last_hidden_activation(model) is sigmoids[-1]


def test_shift_is_zero_at_the_reference_and_counts_in_input_units():
    """One scale for every run: dividing by each run's own initial spread put BN and plain
    networks on different scales."""
    model = mlp("none")
    probe = LastHiddenProbe(model, torch.randn(512, 8))
    ref = probe.measure()
    assert ref.shift == 0 and ref.p15 < ref.p50 < ref.p85
    with torch.no_grad():
        last_hidden_linear(model).bias += 2.0  # every unit's input moves by exactly 2
    moved = probe.measure()
    assert moved.p50 == pytest.approx(ref.p50 + 2.0, abs=1e-5)
    assert moved.shift == pytest.approx(2.0, rel=1e-4)


def test_bn_before_the_sigmoid_absorbs_the_same_shift():
    model = mlp("batchnorm")
    probe = LastHiddenProbe(model, torch.randn(512, 8))
    probe.measure()
    with torch.no_grad():
        last_hidden_linear(model).bias += 2.0
    assert probe.measure().shift < 1e-4


def test_measuring_leaves_no_trace_on_buffers_mode_or_rng():
    model = mlp("batchnorm")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe = LastHiddenProbe(model, torch.randn(256, 8))
    torch.manual_seed(5)
    expected_draw = torch.rand(3)
    torch.manual_seed(5)
    probe.measure()
    assert torch.equal(torch.rand(3), expected_draw)
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_every_epoch_records_the_distribution_and_the_result_the_final_shift():
    spec = validate_spec({"family": "mlp", "depth": 2, "width": 16, "activation": "sigmoid",
                          "dataset": "synthetic", "synthetic_samples": 256, "epochs": 3,
                          "batch_size": 32, "warmup_steps": 1, "timed_steps": 2,
                          "infer_batch_sizes": [32], "repeats": 1})  # fmt: skip
    m = run(spec).model
    assert [e.epoch for e in m.epochs] == [1, 2, 3]
    for e in m.epochs:
        assert e.last_hidden_p15 <= e.last_hidden_p50 <= e.last_hidden_p85
        assert e.last_hidden_shift >= 0
    assert m.last_hidden_shift == m.epochs[-1].last_hidden_shift
