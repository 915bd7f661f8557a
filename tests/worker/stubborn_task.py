"""A task that swallows the soft time limit, so only the hard limit can stop it.

Loaded into a test's worker with BNBENCH_WORKER_INCLUDE=tests.worker.stubborn_task; it
counts its seconds alive in a file the test reads.
"""

import os
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from worker.app import app


def _beat(path: str, beats: int) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(str(beats))
    os.replace(tmp, path)  # a kill mid-write must not leave the file empty


@app.task(name="bnbench.test_stubborn")
def stubborn(path: str, seconds: float) -> None:
    beats, end = 0, time.monotonic() + seconds
    while True:
        try:  # the soft limit may land on any line of the loop, not only in the sleep
            while time.monotonic() < end:
                time.sleep(1)
                beats += 1
                _beat(path, beats)
            return
        except SoftTimeLimitExceeded:
            continue
