"""A task that swallows the soft time limit, so only the hard limit can stop it.

Loaded into a test's worker with BNBENCH_WORKER_INCLUDE=tests.worker.stubborn_task; it
counts its seconds alive in a file the test reads.
"""

import os
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from worker.app import app


@app.task(name="bnbench.test_stubborn")
def stubborn(path: str, seconds: float) -> None:
    beats, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            time.sleep(1)
        except SoftTimeLimitExceeded:
            continue
        beats += 1
        tmp = Path(f"{path}.tmp")
        tmp.write_text(str(beats))
        os.replace(tmp, path)  # a kill mid-write must not leave the file empty
