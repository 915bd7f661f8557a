"""Make docs/img/dashboard-compare.png: a real sweep, the real dashboard, headless Chromium.

.venv/bin/python docs/screenshot.py        # about a minute on a 2-core CPU
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "img" / "dashboard-compare.png"
GROUP = "bn-x-dropout"


def sweep() -> None:
    """The article's Net on digits: BN on/off x dropout 0/0.5, two seeds each."""
    from core.local_run import run_recorded
    from core.spec_io import validate_spec

    for norm in ("batchnorm", "none"):
        for p in (0.0, 0.5):
            for seed in (0, 1):
                spec = validate_spec({
                    "family": "mlp", "dataset": "digits", "depth": 2, "width": 64,
                    "norm": norm, "dropout_p": p, "epochs": 12, "seed": seed, "lr": 0.05,
                    "batch_size": 32, "warmup_steps": 3, "timed_steps": 20,
                    "infer_batch_sizes": [1, 64],
                })  # fmt: skip
                run_recorded(spec, group_id=GROUP, label=f"{norm} p={p}")


def main() -> None:
    home = tempfile.mkdtemp(prefix="bnbench-shot-")
    os.environ["BNBENCH_HOME"] = home
    os.environ.pop("BNBENCH_DATABASE_URL", None)
    os.environ.pop("BNBENCH_DASHBOARD_PASSWORD", None)
    sweep()
    from playwright.sync_api import sync_playwright

    from dashboard.launch import start
    from tests.services import CHROMIUM, CHROMIUM_ARGS, dashboard_healthy, wait_until

    port = 8765
    proc = start("127.0.0.1", port, Path(home) / "dashboard.log", env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: dashboard_healthy(base), 60, "the dashboard")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(30_000)
            page.goto(f"{base}/compare")
            page.get_by_role("combobox", name="Group").click()
            page.get_by_role("option", name=GROUP, exact=True).click()
            page.get_by_text("Learning curves").wait_for()
            page.wait_for_load_state("networkidle")
            # The figures, the learning curves and the gap charts, below the pickers.
            page.get_by_role("heading", name="Learning curves").scroll_into_view_if_needed()
            page.mouse.wheel(0, 250)
            time.sleep(3)  # let the Vega charts finish drawing
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT), full_page=False)
            browser.close()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
