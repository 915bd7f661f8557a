"""Real runs for the regression-detection tests, and a webhook that records what it gets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np

from core.spec.presets import preset
from core.spec.schema import BenchSpec
from tests.dbseed import seed

SPEC = BenchSpec(**dict(preset("tiny"), depth=2, width=128, synthetic_samples=2048,
                        batch_size=64, warmup_steps=5, timed_steps=30))  # fmt: skip


def interleaved(
    monkeypatch,
    groups: dict[str, str | dict[str, str]],
    repeats: int,
    around: dict[str, Callable[[], AbstractContextManager]] | None = None,
) -> list[tuple]:
    """(group, spec, result) of real runs: `repeats` of each group, alternating. Each group
    names its environment: a BNBENCH_THREADS count, or variables to set; `around` gives a
    group a context its runs go inside."""
    from core.engine.run import run

    out = []
    for i in range(repeats):
        for group, env in groups.items():
            for name, value in ({"BNBENCH_THREADS": env} if isinstance(env, str) else env).items():
                monkeypatch.setenv(name, value)
            spec = SPEC.model_copy(update={"seed": i})
            with (around or {}).get(group, nullcontext)():
                out.append((group, spec, run(spec)))
    return out


def profiler_on() -> AbstractContextManager:
    """torch.profiler recording every CPU op, left on around a run: a real overhead on each
    op, about 15-20% of this spec's step on this machine kind (docs/history.md)."""
    import torch

    return torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])


def store(url, runs) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for group, spec, result in runs:
        ids.setdefault(group, []).append(seed(url, spec, result, group_id=group))
    return ids


def throughputs(runs, group) -> np.ndarray:
    return np.array([r.model.throughput.samples_per_s for g, _, r in runs if g == group])


class Webhook:
    """An HTTP server on a free port that keeps each POSTed JSON body."""

    def __init__(self) -> None:
        bodies: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.bodies = bodies
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self) -> Webhook:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
