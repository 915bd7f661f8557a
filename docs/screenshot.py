"""Make docs/img/dashboard-compare.png from the new-user journey test: `bnbench up`, a
two-field sweep submitted from the form, and its Compare page, in headless Chromium.

.venv/bin/python docs/screenshot.py        # about a minute on a 2-core CPU
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "dashboard-compare.png"
JOURNEY = "tests/dashboard/test_journey.py"


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BNBENCH_SCREENSHOT": str(OUT)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", JOURNEY], cwd=ROOT, env=env)
    if done.returncode:
        raise SystemExit(f"the journey failed; {OUT} is unchanged")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
