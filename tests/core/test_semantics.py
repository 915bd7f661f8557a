"""What PyTorch's BatchNorm and Dropout do, checked against the formulas bnbench relies on."""

import pytest
import torch
from torch import nn

from core.engine.evaluation import bn_statistics_gap
from core.engine.folding import fold_batchnorm


def test_dropout_is_identity_in_eval():
    drop = nn.Dropout(0.5).eval()
    x = torch.randn(64, 32)
    assert torch.equal(drop(x), x)


def test_dropout_scales_kept_units_by_inverse_keep_probability_in_training():
    p = 0.3
    torch.manual_seed(0)
    drop = nn.Dropout(p).train()
    x = torch.ones(1000, 100)
    y = drop(x)
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)))
    assert abs((y == 0).float().mean().item() - p) < 0.01
    # inverted dropout keeps the expectation, so eval needs no (1 - p) rescaling
    assert abs(y.mean().item() - 1.0) < 0.01


def test_bn_running_stats_follow_the_momentum_rule():
    m = 0.1
    bn = nn.BatchNorm1d(4, momentum=m).train()
    x = torch.randn(32, 4) * 3 + 2
    bn(x)
    expected_mean = (1 - m) * torch.zeros(4) + m * x.mean(0)
    expected_var = (1 - m) * torch.ones(4) + m * x.var(0, unbiased=True)
    assert torch.allclose(bn.running_mean, expected_mean, atol=1e-6)
    assert torch.allclose(bn.running_var, expected_var, atol=1e-5)


def test_momentum_none_gives_the_cumulative_average():
    bn = nn.BatchNorm1d(3, momentum=None).train()
    batches = [torch.randn(16, 3) * (i + 1) + i for i in range(5)]
    for b in batches:
        bn(b)
    mean_of_means = torch.stack([b.mean(0) for b in batches]).mean(0)
    mean_of_vars = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    assert torch.allclose(bn.running_mean, mean_of_means, atol=1e-5)
    assert torch.allclose(bn.running_var, mean_of_vars, atol=1e-4)
    assert bn.num_batches_tracked.item() == 5


def test_running_var_is_unbiased_while_normalization_uses_biased_variance():
    bn = nn.BatchNorm1d(2, momentum=1.0, affine=False).train()
    x = torch.tensor([[1.0, 0.0], [3.0, 4.0], [5.0, 8.0]])
    y = bn(x)
    assert torch.allclose(bn.running_var, x.var(0, unbiased=True))
    biased = x.var(0, unbiased=False)
    assert torch.allclose(y, (x - x.mean(0)) / torch.sqrt(biased + bn.eps), atol=1e-6)


def test_eval_output_uses_running_statistics_and_affine_parameters():
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([2.0, 0.5, 4.0]))
        bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    bn.eval()
    x = torch.randn(4, 3, 5, 5)
    shape = (1, 3, 1, 1)
    expected = (x - bn.running_mean.view(shape)) / torch.sqrt(
        bn.running_var.view(shape) + bn.eps
    ) * bn.weight.view(shape) + bn.bias.view(shape)
    assert torch.allclose(bn(x), expected, atol=1e-6)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dropout_between", [False, True])
@pytest.mark.parametrize("layer", ["linear", "conv"])
def test_folded_bn_matches_unfolded(layer, dropout_between, affine):
    """Also without affine parameters (it crashed the fuse), and with a dropout between the
    weight layer and BN (the identity in eval, so it folds)."""
    torch.manual_seed(0)
    if layer == "linear":
        drop = [nn.Dropout(0.5)] if dropout_between else []
        model = nn.Sequential(nn.Linear(8, 16), *drop, nn.BatchNorm1d(16, affine=affine),
                              nn.ReLU(), nn.Linear(16, 2))  # fmt: skip
        x = torch.randn(32, 8)
    else:
        drop = [nn.Dropout2d(0.5)] if dropout_between else []
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            *drop,
            nn.BatchNorm2d(8, affine=affine),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 6 * 6, 2),
        )
        x = torch.randn(32, 3, 6, 6)
    model.train()
    for _ in range(5):
        model(x * 2 + 1)
    model.eval()
    folded, n_folded, n_left = fold_batchnorm(model)
    assert (n_folded, n_left) == (1, 0)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-5)


def test_bn_after_activation_is_left_unfolded():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 1)).eval()
    _, n_folded, n_left = fold_batchnorm(model)
    assert (n_folded, n_left) == (0, 1)


@pytest.mark.parametrize("q", [0.2, 0.5])
def test_dropout_before_bn_shifts_eval_variance_by_one_minus_q(q):
    """Li et al. 2019: zero-mean input, dropout(q) then BN: eval/train variance ratio ~ 1 - q."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(q), nn.BatchNorm1d(16, momentum=None))
    x = torch.randn(20000, 16)
    model.train()
    with torch.no_grad():
        for chunk in x.split(500):
            model(chunk)
    [stats] = bn_statistics_gap(model, x)
    assert stats.preceded_by_dropout
    assert stats.variance_ratio == pytest.approx(1 - q, abs=0.03)


@pytest.mark.parametrize("p", [0.3, 0.5])
@pytest.mark.parametrize("dropout", [nn.Dropout, nn.Dropout2d])
def test_the_variance_shift_follows_its_general_form_for_input_with_a_mean(dropout, p):
    """Input with mean mu and variance sigma^2: training sees (sigma^2 + p mu^2) / (1 - p), so
    population / running = (1 - p) / (1 + p mu^2 / sigma^2), not 1 - p; channel dropout
    pools to the same variance. The prediction is reported beside the measurement."""
    torch.manual_seed(0)
    bn = (
        nn.BatchNorm1d(4, momentum=None)
        if dropout is nn.Dropout
        else nn.BatchNorm2d(4, momentum=None)
    )
    model = nn.Sequential(dropout(p), bn)
    shape = (20000, 4) if dropout is nn.Dropout else (4000, 4, 3, 3)
    mu = torch.tensor([0.0, 1.0, 2.0, 3.0]).reshape(1, 4, *([1] * (len(shape) - 2)))
    x = torch.randn(*shape) + mu
    model.train()
    with torch.no_grad():
        for chunk in x.split(500):
            model(chunk)
    [stats] = bn_statistics_gap(model, x)
    expected = float(((1 - p) / (1 + p * mu.flatten() ** 2)).mean())
    assert stats.dropout_p == p
    assert stats.predicted_variance_ratio == pytest.approx(expected, abs=0.01)
    assert stats.variance_ratio == pytest.approx(stats.predicted_variance_ratio, abs=0.02)
    assert abs(stats.variance_ratio - (1 - p)) > 0.1  # the zero-mean rule would be wrong here


def test_a_dropout_further_upstream_feeds_no_prediction():
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 4), nn.BatchNorm1d(4)).train()
    with torch.no_grad():
        model(torch.randn(64, 4))
    [stats] = bn_statistics_gap(model, torch.randn(256, 4))
    assert stats.preceded_by_dropout and stats.dropout_p is None
    assert stats.predicted_variance_ratio is None


def test_without_dropout_running_stats_match_the_population():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8, momentum=None))
    x = torch.randn(8000, 4)
    with torch.no_grad():
        for chunk in x.split(400):
            model(chunk)
    [stats] = bn_statistics_gap(model, x)
    assert not stats.preceded_by_dropout
    assert stats.variance_ratio == pytest.approx(1.0, abs=0.03)
    assert stats.mean_gap < 0.05


def test_recalibrating_bn_removes_the_variance_shift():
    """Precise BN: statistics re-estimated with dropout off match the eval-mode population."""
    from core.engine.evaluation import recalibrate_bn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(16, momentum=0.1))
    x = torch.randn(20000, 16)
    model.train()
    with torch.no_grad():
        for chunk in x.split(500):
            model(chunk)
    [before] = bn_statistics_gap(model, x)
    assert before.variance_ratio == pytest.approx(0.5, abs=0.05)
    assert recalibrate_bn(model, x, batch_size=500) == 1
    [after] = bn_statistics_gap(model, x)
    assert after.variance_ratio == pytest.approx(1.0, abs=0.01)
    assert model[1].momentum == 0.1 and model.training
