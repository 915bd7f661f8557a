"""A task that reports which modules its pool child had loaded before it ran.

Loaded into a test's worker with BNBENCH_WORKER_INCLUDE=tests.worker.probe_task.
"""

import json
import sys
from pathlib import Path

from worker.app import app


@app.task(name="bnbench.test_loaded")
def loaded(path: str, modules: list[str]) -> None:
    Path(path).write_text(json.dumps({m: m in sys.modules for m in modules}))
