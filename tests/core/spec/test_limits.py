"""Deployment limits: an operator caps what one job may ask for, below the schema's maxima."""

import pytest

from core.spec.limits import Limits
from core.spec.parse import SpecError
from core.spec.schema import BenchSpec


def test_no_limit_is_set_by_default(monkeypatch):
    monkeypatch.delenv("BNBENCH_MAX_EPOCHS", raising=False)
    monkeypatch.setenv("BNBENCH_MAX_TRAIN_SAMPLES", "")
    assert Limits.from_env() == Limits()
    Limits.from_env().check(BenchSpec(epochs=1000, synthetic_samples=10_000_000))


@pytest.mark.parametrize("raw", ["ten", "0", "-5", "1.5"])
def test_a_bad_limit_names_its_variable(monkeypatch, raw):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", raw)
    with pytest.raises(ValueError, match="BNBENCH_MAX_EPOCHS="):
        Limits.from_env()


def test_a_spec_over_a_limit_names_the_field_the_limit_and_the_variable():
    limits = Limits(max_epochs=10, max_train_samples=1000)
    with pytest.raises(SpecError) as info:
        limits.check(BenchSpec(epochs=11, synthetic_samples=5000, train_size=2000))
    assert info.value.problems == [
        ("epochs", "11 is over this deployment's limit of 10 (BNBENCH_MAX_EPOCHS); lower it, "
         "or ask the operator to raise the limit"),
        ("synthetic_samples", "5000 is over this deployment's limit of 1000 "
         "(BNBENCH_MAX_TRAIN_SAMPLES); lower it, or ask the operator to raise the limit"),
        ("train_size", "2000 is over this deployment's limit of 1000 "
         "(BNBENCH_MAX_TRAIN_SAMPLES); lower it, or ask the operator to raise the limit"),
    ]  # fmt: skip


def test_at_the_limit_is_allowed_and_synthetic_samples_count_only_for_synthetic_data():
    limits = Limits(max_epochs=10, max_train_samples=1000)
    limits.check(BenchSpec(epochs=10, synthetic_samples=1000))
    limits.check(BenchSpec(dataset="digits", synthetic_samples=5000))  # the field is unused


def test_the_first_offending_spec_of_a_batch_is_reported():
    limits = Limits(max_epochs=10)
    with pytest.raises(SpecError, match="epochs: 12 is over"):
        limits.check(BenchSpec(epochs=5), BenchSpec(epochs=12), BenchSpec(epochs=30))
