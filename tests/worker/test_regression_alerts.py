"""A worker's reconciler announces a regression to the webhook, once for the whole fleet."""

import time

import pytest

from core.store.leases import holder_of
from tests.history_runs import Webhook, interleaved, store
from tests.services import wait_until
from worker.reconciler import REGRESSION_CHECK


def test_two_workers_post_a_regression_once(queue_env, start_workers):
    with pytest.MonkeyPatch.context() as mp:
        runs = interleaved(mp, {"before": "1", "oversubscribed": "8"}, repeats=5)
    store(queue_env["BNBENCH_DATABASE_URL"], runs)
    with Webhook() as hook:
        start_workers(2, env={"BNBENCH_ALERT_WEBHOOK": hook.url,
                              "BNBENCH_REGRESSION_CHECK_S": "1"})  # fmt: skip
        wait_until(lambda: hook.bodies, 90, "a reconciler's POST")
        time.sleep(5)  # several more passes of both workers
        [body] = hook.bodies
    # the check itself went to one worker per period, through the lease
    assert holder_of(REGRESSION_CHECK, queue_env["BNBENCH_DATABASE_URL"]) is not None
    [item] = body["regressions"]
    assert item["changed"] == {"threads": [1, 8]}
    assert item["baseline"]["n"] == item["contender"]["n"] == 5
