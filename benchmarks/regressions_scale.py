"""`bnbench regressions` over a results database at scale: how long one pass takes.

Seeds `--rows` results with benchmarks/db_scale.py's seeding (720 specs in 144 repeat groups,
three machines, 90% of them in sweep groups), then times core.history.verdicts (what
`bnbench regressions` and each reconciler pass with a webhook run): one warm-up and 3 timed
calls, the median reported, with the number of series judged.

    python -m benchmarks.regressions_scale [--backend sqlite|postgresql] [--rows N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.db_scale import PG_URL, fresh_database, seed, tiny_result
from core.history import verdicts
from core.store.migrate import upgrade


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    base = tiny_result()
    with fresh_database(args.backend, PG_URL) as url:
        upgrade(url)
        seed(url, base, args.rows, 1000, args.backend)
        n = len(verdicts(url=url))  # warm-up
        times = []
        for _ in range(3):
            t = time.perf_counter()
            verdicts(url=url)
            times.append(time.perf_counter() - t)
    spread = f"{min(times):.2f}-{max(times):.2f}"
    print(f"{args.backend}, {args.rows:,} results: {n} series judged, one pass "
          f"{statistics.median(times):.2f} s (median of 3; {spread})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
