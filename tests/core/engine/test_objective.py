"""Each task's own figures: R² of a regression agrees with scikit-learn's r2_score."""

import pytest
import torch
from sklearn.metrics import r2_score

from core.engine.objective import Objective, objective_for


@pytest.mark.parametrize("outputs", [1, 3])
def test_r2_matches_sklearn_averaged_over_outputs(outputs):
    g = torch.Generator().manual_seed(0)
    y = torch.randn(200, outputs, generator=g)
    out = y + 0.5 * torch.randn(200, outputs, generator=g)
    expected = r2_score(y.numpy(), out.numpy())
    assert Objective("regression", outputs).r2(out, y) == pytest.approx(expected, rel=1e-5)


def test_r2_of_predicting_the_mean_is_zero_and_can_go_negative():
    y = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    reg = Objective("regression", 1)
    assert reg.r2(torch.full_like(y, 2.5), y) == pytest.approx(0.0)
    assert reg.r2(-y, y) < 0


def test_a_constant_target_scores_like_sklearn():
    y = torch.ones(5, 1)
    reg = Objective("regression", 1)
    assert reg.r2(y.clone(), y) == r2_score(y.numpy(), y.numpy()) == 1.0
    assert reg.r2(y + 1, y) == r2_score(y.numpy(), (y + 1).numpy()) == 0.0


def test_classification_has_no_r2():
    obj = objective_for("classification", 10, "mlp")
    assert obj.r2(torch.randn(4, 10), torch.tensor([0, 1, 2, 3])) is None
