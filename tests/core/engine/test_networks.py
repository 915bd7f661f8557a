"""Model builders: the article's Net exactly, and every placement option honoured."""

import pytest
import torch
from torch import nn

from core.engine.networks import build_model
from core.spec.schema import BenchSpec


class ArticleNet(nn.Module):
    """Verbatim from the seed article."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.bn1 = nn.BatchNorm1d(20)
        self.dropout = nn.Dropout(p=0.5)
        self.fc2 = nn.Linear(20, 1)

    def forward(self, x):
        x = self.fc1(x)
        x = self.bn1(x)
        x = torch.relu(x)
        x = self.dropout(x)
        x = self.fc2(x)
        return x


def kinds(model: nn.Module) -> list[str]:
    return [type(m).__name__ for m in model]


def test_seednet_is_the_articles_net_exactly():
    ours = build_model(BenchSpec(family="seednet"), (10,), 1)
    assert kinds(ours) == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    theirs = ArticleNet()
    ours.load_state_dict(dict(zip(ours.state_dict(), theirs.state_dict().values(), strict=True)))
    x = torch.randn(32, 10)
    for mode in (False, True):
        ours.train(mode)
        theirs.train(mode)
        torch.manual_seed(1)
        a = ours(x)
        torch.manual_seed(1)
        b = theirs(x)
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("bn_position", "dropout_position", "order"),
    [
        ("before_activation", "after_activation", ["Linear", "BatchNorm1d", "ReLU", "Dropout"]),
        ("before_activation", "before_norm", ["Linear", "Dropout", "BatchNorm1d", "ReLU"]),
        ("after_activation", "after_activation", ["Linear", "ReLU", "BatchNorm1d", "Dropout"]),
        ("after_activation", "before_norm", ["Linear", "ReLU", "Dropout", "BatchNorm1d"]),
    ],
)
def test_block_order_follows_the_placement_fields(bn_position, dropout_position, order):
    spec = BenchSpec(depth=1, width=8, bn_position=bn_position, dropout_position=dropout_position)
    assert kinds(build_model(spec, (4,), 3)) == [*order, "Linear"]


def test_bn_options_reach_the_layer():
    spec = BenchSpec(
        depth=1, bn_momentum=None, bn_eps=1e-3, bn_affine=False, bn_track_running_stats=False
    )
    bn = build_model(spec, (4,), 2)[1]
    assert (bn.momentum, bn.eps, bn.affine, bn.track_running_stats) == (None, 1e-3, False, False)


def test_bn_last_layer_off_drops_norm_from_the_block_feeding_the_output():
    model = build_model(BenchSpec(depth=2, width=8, bn_last_layer=False), (4,), 2)
    assert kinds(model) == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]


def test_cnn_uses_batchnorm2d_and_channel_dropout_in_conv_blocks_only():
    spec = BenchSpec(family="cnn", depth=2, width=4, dropout_kind="channel")
    model = build_model(spec, (3, 8, 8), 10)
    names = kinds(model)
    assert names.count("BatchNorm2d") == 2 and names.count("Dropout2d") == 2
    assert names[-4:] == ["BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_fc_only_dropout_spares_the_conv_layers():
    model = build_model(
        BenchSpec(family="cnn", depth=2, width=4, dropout_layers="fc_only"), (1, 8, 8), 10
    )
    assert kinds(model).count("Dropout") == 1
    assert kinds(model)[-2] == "Dropout"


def test_conv_only_dropout_spares_the_fc_layer():
    model = build_model(
        BenchSpec(family="cnn", depth=2, width=4, dropout_layers="conv_only"), (1, 8, 8), 10
    )
    assert kinds(model)[-3:] == ["BatchNorm1d", "ReLU", "Linear"]


def test_cnn3d_uses_batchnorm3d_and_dropout3d():
    spec = BenchSpec(family="cnn3d", depth=1, width=4, dropout_kind="channel")
    model = build_model(spec, (1, 4, 4, 4), 5)
    assert {"Conv3d", "BatchNorm3d", "Dropout3d"} <= set(kinds(model))
    assert model(torch.randn(2, 1, 4, 4, 4)).shape == (2, 5)


@pytest.mark.parametrize(
    ("norm", "cls"), [("none", None), ("layernorm", "LayerNorm"), ("groupnorm", "GroupNorm")]
)
def test_comparison_norms(norm, cls):
    names = kinds(build_model(BenchSpec(depth=1, width=8, norm=norm), (4,), 2))
    assert "BatchNorm1d" not in names
    if cls:
        assert cls in names


def test_zero_dropout_adds_no_dropout_module():
    assert "Dropout" not in kinds(build_model(BenchSpec(depth=2, dropout_p=0.0), (4,), 2))
