"""Presets are valid specs, and the article's three networks are built as written."""

import pytest

from core.engine.networks import build_model
from core.spec.parse import validate_spec
from core.spec.presets import PRESETS, preset


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_spec(name):
    validate_spec(preset(name))


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("simplenet", ["Linear", "BatchNorm1d", "ReLU", "Linear"]),
        ("dropoutnet", ["Linear", "ReLU", "Dropout", "Linear"]),
        ("net", ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]),
    ],
)
def test_article_presets_build_the_article_networks(name, layers):
    model = build_model(validate_spec(preset(name)), (10,), 1)
    assert [type(m).__name__ for m in model] == layers
    assert model[0].in_features == 10 and model[-1].out_features == 1
