"""What a task message must look like before the pool sees it, and the time limits it gets."""

import uuid

import pytest

from worker.envelope import (
    TASK_ID_NAMESPACE,
    EnvelopeError,
    check_body,
    check_headers,
    clamped_time_limits,
    job_id_for,
    recover_job_id,
)

SPEC = {"family": "seednet"}


def test_celery_protocol_2_is_accepted():
    check_body([[], {"spec": SPEC}, {"callbacks": None, "errbacks": None, "chain": None,
                                     "chord": None}])  # fmt: skip
    check_body(([], {"spec": SPEC}, None))
    check_headers({"id": "abc", "task": "bnbench.run", "retries": 2, "timelimit": [660, 600.5]})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "protocol 2 triple [args, kwargs, embed], got a list of 0"),
        (None, "got NoneType"),
        ({"spec": SPEC}, "got dict"),
        ([[], {"spec": SPEC}], "got a list of 2"),
        ([[], [], {}], "kwargs must be an object, got list"),
        ([{}, {}, {}], "args must be a list, got dict"),
        ([[], {}, 3], "embed must be an object or null, got int"),
        ([[], {}, {"chain": [{"task": "x"}], "errbacks": [1]}], "chain, errbacks are not accepted"),
    ],
)
def test_other_bodies_are_named_with_the_fix(body, words):
    with pytest.raises(EnvelopeError) as e:
        check_body(body)
    assert words in str(e.value)


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ([], "headers must be a mapping"),
        ({}, "header id must be a task id string"),
        ({"id": ""}, "header id must be a task id string"),
        ({"id": "x" * 201}, "1 to 200 characters"),
        ({"id": "a\x00b"}, "NUL character"),
        ({"id": "a", "retries": -1}, "retries must be a whole number"),
        ({"id": "a", "retries": True}, "retries must be a whole number"),
        ({"id": "a", "timelimit": "600"}, "timelimit must be [hard, soft]"),
        ({"id": "a", "timelimit": [1, 2, 3]}, "timelimit must be [hard, soft]"),
        ({"id": "a", "timelimit": [float("inf"), None]}, "timelimit must be [hard, soft]"),
    ],
)
def test_bad_headers_are_named(headers, words):
    with pytest.raises(EnvelopeError) as e:
        check_headers(headers)
    assert words in str(e.value)


@pytest.mark.parametrize(
    ("asked", "given"),
    [
        (None, [120.0, 60.0]),
        ([None, None], [120.0, 60.0]),
        ([660, 600], [120.0, 60.0]),  # more than the deployment allows: capped
        ([90, 30], [90.0, 30.0]),  # less: kept
        ([0, -5], [120.0, 60.0]),  # nonsense: the deployment's
        ([None, 30], [120.0, 30.0]),
    ],
)
def test_a_message_may_shorten_its_time_limits_but_never_lengthen_them(asked, given):
    assert clamped_time_limits(asked, soft_max=60, hard_max=120) == given


def test_a_message_without_a_job_id_runs_under_one_derived_from_its_task_id():
    named = str(uuid.uuid4())
    assert job_id_for({"job_id": named}, "task-1") == named
    derived = job_id_for({"spec": SPEC}, "task-1")
    assert derived == str(uuid.uuid5(TASK_ID_NAMESPACE, "task-1")) == job_id_for({}, "task-1")
    assert job_id_for({"job_id": "not-a-uuid"}, "task-1") == derived


def test_a_job_id_is_recovered_from_a_misshapen_body():
    job_id = str(uuid.uuid4())
    assert recover_job_id([[], {"job_id": job_id}]) == job_id
    assert recover_job_id({"kwargs": {"job_id": job_id}}) == job_id
    assert recover_job_id({"job_id": job_id}) == job_id
    assert recover_job_id([[], {"job_id": "nope"}]) is None
    assert recover_job_id(None) is None
