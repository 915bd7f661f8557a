"""The task payload contract: what a raw Celery client may send, and what it is told."""

import uuid

import pytest

from core.spec.schema import BenchSpec
from tests.worker.bad_payloads import BAD_PAYLOADS
from worker.payload import PayloadError, parse


def test_a_good_payload_parses_to_a_spec_and_job_id():
    job_id = str(uuid.uuid4())
    p = parse((), {"spec": {"family": "seednet"}, "job_id": job_id})
    assert p.spec == BenchSpec(family="seednet") and p.job_id == job_id
    assert parse((), {"spec": {}}).job_id is None


@pytest.mark.parametrize(
    ("args", "kwargs", "words"), BAD_PAYLOADS, ids=[str(i) for i in range(len(BAD_PAYLOADS))]
)
def test_a_bad_payload_is_answered_with_the_field_and_the_fix(args, kwargs, words):
    with pytest.raises(PayloadError) as info:
        parse(args, kwargs)
    assert words in str(info.value)


def test_there_are_twenty_bad_payloads():
    assert len(BAD_PAYLOADS) == 20


def test_a_raw_message_over_the_deployments_limits_is_refused_by_the_worker(monkeypatch):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "20")
    with pytest.raises(PayloadError) as info:
        parse((), {"spec": {"epochs": 500}})
    assert "spec.epochs: 500 is over this deployment's limit of 20 (BNBENCH_MAX_EPOCHS)" in str(
        info.value
    )
    assert parse((), {"spec": {"epochs": 20}}).spec.epochs == 20
