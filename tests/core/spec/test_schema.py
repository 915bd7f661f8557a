"""BenchSpec: one frozen declaration, a stable identity, and errors that say what to fix."""

import json

import pytest
from pydantic import ValidationError

from core.spec.parse import SpecError, build_spec, parse_override, validate_spec
from core.spec.schema import BenchSpec, fields_by_group


def test_every_field_has_a_description_and_a_group():
    for name, info in BenchSpec.model_fields.items():
        assert info.description, name
    grouped = [n for names in fields_by_group().values() for n in names]
    assert sorted(grouped) == sorted(BenchSpec.model_fields)


def test_defaults_follow_the_article_advice():
    s = BenchSpec()
    assert (s.norm, s.bn_momentum, s.dropout_p) == ("batchnorm", 0.1, 0.5)
    assert (s.bn_position, s.dropout_position) == ("before_activation", "after_activation")


def test_spec_is_frozen():
    with pytest.raises(ValidationError):
        BenchSpec().lr = 1.0  # type: ignore[misc]


def test_canonical_json_round_trips_to_the_same_hash():
    s = BenchSpec(family="cnn", dataset="digits", lr=0.01, infer_batch_sizes=(1, 8))
    again = BenchSpec.model_validate_json(s.canonical_json())
    assert again == s
    assert again.spec_hash() == s.spec_hash()
    assert json.loads(s.canonical_json())["spec_version"] == 1


def test_hash_changes_with_what_is_measured_but_not_with_data_root():
    s = BenchSpec()
    assert s.with_overrides(data_root="/elsewhere").spec_hash() == s.spec_hash()
    assert s.with_overrides(dropout_p=0.3).spec_hash() != s.spec_hash()
    assert s.spec_hash() == BenchSpec().spec_hash()  # stable across instances


def test_a_field_added_later_leaves_the_hash_alone_at_its_default():
    s = BenchSpec()
    stored = {k: v for k, v in s.model_dump(mode="json").items() if k != "test_fraction"}
    assert validate_spec(stored).spec_hash() == s.spec_hash() == "841d08f18d7f98ea"
    assert s.with_overrides(test_fraction=0.2).spec_hash() != s.spec_hash()


def test_seednet_fills_in_the_articles_shape():
    s = BenchSpec(family="seednet")
    assert (s.depth, s.width, s.activation, s.dataset) == (1, 20, "relu", "synthetic_regression")


def test_yaml_file_then_flags_then_set_overrides(tmp_path):
    f = tmp_path / "spec.yaml"
    f.write_text("family: mlp\nepochs: 7\nlr: 0.2\ninfer_batch_sizes: [1, 2]\n")
    s = build_spec(
        f, ["lr=0.01", "bn_momentum=null"], base={"epochs": 1, "width": 8}, fields={"epochs": 3}
    )
    assert (s.epochs, s.lr, s.width, s.bn_momentum) == (3, 0.01, 8, None)
    assert s.infer_batch_sizes == (1, 2)


def test_json_file_loads(tmp_path):
    f = tmp_path / "spec.json"
    f.write_text(json.dumps({"kind": "layer", "layer": "dropout", "shape": [8, 16]}))
    assert build_spec(f).shape == (8, 16)


def test_override_values_are_typed_like_yaml():
    assert parse_override("lr=0.1") == ("lr", 0.1)
    assert parse_override("bn_momentum=null") == ("bn_momentum", None)
    assert parse_override("infer_batch_sizes=[1, 64]") == ("infer_batch_sizes", [1, 64])
    assert parse_override("channels_last=true") == ("channels_last", True)


@pytest.mark.parametrize(
    ("item", "option", "words"),
    [
        ("norm", "--where", "--where: expected key=value, got 'norm'"),
        ("=3", "--set", "--set: no field name before '=' in '=3'"),
    ],
)
def test_a_malformed_override_names_the_option_it_came_from(item, option, words):
    with pytest.raises(SpecError) as e:
        parse_override(item, option)
    assert words in str(e.value)


# (spec fields, the field the error must name, words the message must contain)
BAD_SPECS = [
    ({"bachsize": 32}, "bachsize", "did you mean batch_size"),
    ({"dropout": 0.5}, "dropout", "did you mean dropout_p"),
    ({"momentum_bn": 0.1}, "momentum_bn", "did you mean"),
    ({"lr": float("nan")}, "lr", "finite number"),
    ({"lr": float("inf")}, "lr", "finite number"),
    ({"lr": -0.1}, "lr", "greater than 0"),
    ({"lr": 100}, "lr", "less than or equal to 10"),
    ({"epochs": 0}, "epochs", "greater than or equal to 1"),
    ({"epochs": 100000}, "epochs", "less than or equal to 1000"),
    ({"batch_size": 10**9}, "batch_size", "less than or equal to 65536"),
    ({"batch_size": 1}, "batch_size", "BatchNorm in training needs batch_size >= 2"),
    ({"width": 10**6}, "width", "less than or equal to 16384"),
    ({"depth": -1}, "depth", "greater than or equal to 1"),
    ({"dropout_p": 1.0}, "dropout_p", "less than 1"),
    ({"dropout_p": -0.1}, "dropout_p", "greater than or equal to 0"),
    ({"bn_momentum": 0}, "bn_momentum", "greater than 0"),
    ({"bn_momentum": 1.5}, "bn_momentum", "less than or equal to 1"),
    ({"bn_eps": 0}, "bn_eps", "greater than 0"),
    ({"family": "resnet"}, "family", "'mlp', 'cnn', 'cnn3d' or 'seednet'"),
    ({"norm": "batch"}, "norm", "'none', 'batchnorm', 'layernorm' or 'groupnorm'"),
    ({"device": "gpu"}, "device", "auto, cpu, cuda or cuda:N"),
    ({"channels_last": True}, "channels_last", "applies to cnn only"),
    ({"cuda_graph": True, "device": "cpu"}, "cuda_graph", "needs a CUDA device"),
    ({"cuda_graph": True, "compile": "default"}, "cuda_graph", "set compile=none"),
    ({"cuda_graph": True, "precision": "fp16"}, "precision", "use bf16"),
    ({"cuda_graph": True, "bn_momentum": None}, "bn_momentum", "cuda_graph=false"),
    ({"dropout_kind": "channel"}, "dropout_kind", "applies to cnn and cnn3d"),
    ({"dropout_layers": "conv_only"}, "dropout_layers", "has no conv layers"),
    ({"family": "seednet", "depth": 3}, "depth", "use family=mlp"),
    ({"family": "seednet", "width": 64}, "width", "use family=mlp"),
    ({"family": "seednet", "dataset": "digits"}, "dataset", "seednet takes 10 features"),
    ({"family": "cnn", "dataset": "wine"}, "dataset", "cnn needs images"),
    ({"family": "cnn3d", "dataset": "mnist"}, "dataset", "cnn3d needs volumes"),
    (
        {"family": "cnn", "norm": "groupnorm", "width": 12, "groupnorm_groups": 5},
        "groupnorm_groups",
        "must divide width=12",
    ),
    ({"train_size": 10, "batch_size": 64}, "train_size", "below batch_size"),
    ({"synthetic_samples": 40, "batch_size": 64}, "synthetic_samples", "raise synthetic_samples"),
    (
        {"dataset": "synthetic_regression", "target_val_accuracy": 0.9},
        "target_val_accuracy",
        "undefined for regression",
    ),
    ({"target_val_accuracy": 1.5}, "target_val_accuracy", "less than or equal to 1"),
    ({"val_fraction": 0}, "val_fraction", "greater than 0"),
    ({"infer_batch_sizes": []}, "infer_batch_sizes", "at least 1"),
    ({"infer_batch_sizes": [0, 8]}, "infer_batch_sizes", "must be in [1, 65536]"),
    ({"kind": "layer", "layer": "batchnorm1d"}, "shape", "2 or 3-D input"),
    ({"kind": "layer", "layer": "batchnorm3d", "shape": [8, 4, 4, 4]}, "shape", "5-D input"),
    ({"kind": "layer", "shape": [1, 4, 1, 1]}, "shape", "more than one value per channel"),
    ({"kind": "layer", "shape": [8, 4, 0, 4]}, "shape", "every dimension must be >= 1"),
    ({"kind": "layer", "shape": [4096, 4096, 4096, 4]}, "shape", "at most 2147483647"),
    (
        {"kind": "layer", "layer": "dropout", "shape": [8, 16], "memory_format": "channels_last"},
        "memory_format",
        "4-D or 5-D",
    ),
    ({"kind": "layer", "cuda_graph": True, "device": "cuda"}, "cuda_graph", "kind=model"),
    ({"compile": "default", "deterministic": True}, "deterministic", "not supported with compile"),
    ({"spec_version": 2}, "spec_version", "1"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"epochs": "many"}, "epochs", "valid integer"),
    ({"bn_recalibrate": True, "norm": "none"}, "bn_recalibrate", "needs norm=batchnorm"),
    ({"gpu_model": "h100", "device": "cpu"}, "gpu_model", "set device=cuda or auto"),
    ({"gpu_model": "h100; drop table"}, "gpu_model", "String should match pattern"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "test_fraction", "lower one of them"),
    ({"test_fraction": 0.6}, "test_fraction", "less than or equal to 0.5"),
]


@pytest.mark.parametrize(
    ("fields", "field", "words"), BAD_SPECS, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_SPECS)]
)
def test_bad_spec_names_the_field_and_the_fix(fields, field, words):
    with pytest.raises(SpecError) as info:
        validate_spec(fields)
    named = dict(info.value.problems)
    assert field in named, info.value.problems
    assert words in named[field], named[field]


def test_there_are_at_least_thirty_bad_spec_cases():
    assert len(BAD_SPECS) >= 30


def test_several_faults_are_reported_together():
    with pytest.raises(SpecError) as info:
        validate_spec({"lr": -1, "epochs": 0, "bogus": 1})
    assert {f for f, _ in info.value.problems} == {"lr", "epochs", "bogus"}


def test_missing_spec_file_is_named(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        build_spec(tmp_path / "nope.yaml")


def test_spec_file_that_is_not_a_mapping_is_refused(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="must hold a mapping"):
        build_spec(f)
