"""bnbench's own errors come in three kinds a caller can catch: one wrong field, several,
or a deployment setting. Each names what to change."""

import pytest
import torch

from core.engine.data.datasets import load_data
from core.engine.run import resolve_device
from core.errors import ConfigError, FieldError, FieldErrors
from core.logs import log_format
from core.spec.limits import Limits
from core.spec.parse import validate_spec
from core.spec.schema import BenchSpec


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [("BNBENCH_MAX_EPOCHS", "many", Limits.from_env), ("BNBENCH_LOG_FORMAT", "xml", log_format)],
)
def test_a_bad_deployment_setting_is_a_config_error_naming_it(monkeypatch, name, value, read):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        read()


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_a_spec_the_runner_cannot_run_is_a_field_error():
    with pytest.raises(FieldError) as e:
        resolve_device(BenchSpec(device="cuda"))
    assert e.value.field == "device" and "device=cpu" in e.value.message


def test_data_that_cannot_be_loaded_is_a_field_error(tmp_path):
    spec = BenchSpec(dataset="mnist", data_root=str(tmp_path), device="cpu")
    with pytest.raises(FieldError) as e:
        load_data(spec, torch.device("cpu"))
    assert e.value.field == "data_root"


def test_a_spec_with_several_faults_lists_each_field():
    with pytest.raises(FieldErrors) as e:
        validate_spec({"epochs": 0, "batch_size": -1})
    assert {f for f, _ in e.value.problems} == {"epochs", "batch_size"}
    assert e.value.lines() == [f"{f}: {m}" for f, m in e.value.problems]
