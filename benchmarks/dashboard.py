"""The Compare page with 10,000 results in the database: data preparation and rendering.

Seeds a fresh SQLite database through benchmarks/db_scale.py's seeding (real result rows),
then runs the Compare page in Streamlit's AppTest, selecting a sweep group, five times.
"cold" clears Streamlit's caches first (the first visit); "warm" reuses them (a rerun within
the cache TTL). Target: cold under 2 s.

    python benchmarks/dashboard.py [--rows 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


def run_compare(group: str, cold: bool) -> float:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    if cold:
        st.cache_data.clear()
    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "dashboard" / "views" / "compare.py"), default_timeout=120)
    at.run()
    at.selectbox(key="cmp_group").set_value(group).run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()

    from benchmarks.db_scale import QUERY_GROUP, seed, tiny_result
    from core.engine.provenance import cpu_model
    from core.store.migrate import upgrade
    from core.store.read import ResultFilter, query_records

    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/dashboard.db"
        os.environ["BNBENCH_DATABASE_URL"] = url
        upgrade(url)
        seed(url, tiny_result(), args.rows, 1000, "sqlite")
        in_group = len(
            query_records(ResultFilter(group_id=QUERY_GROUP, status=("succeeded",)), spec=False)
        )
        cold = [run_compare(QUERY_GROUP, cold=True) for _ in range(args.repeats)]
        warm = [run_compare(QUERY_GROUP, cold=False) for _ in range(args.repeats)]
    row = {
        "rows": args.rows,
        "group_jobs": in_group,
        "cold_s": statistics.median(cold),
        "cold_max_s": max(cold),
        "warm_s": statistics.median(warm),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
    }
    ok = "ok" if row["cold_s"] < TARGET_S else "MISS"
    print(
        f"Compare page, {args.rows:,} results, group of {in_group:,} jobs: cold "
        f"{row['cold_s']:.2f} s (max {row['cold_max_s']:.2f}) {ok}, warm "
        f"{row['warm_s']:.2f} s; target < {TARGET_S} s"
    )
    print(f"machine: {row['cpu']}, {row['cores']} cores")
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
