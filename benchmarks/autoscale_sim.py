"""KEDA scaling bnbench's GPU workers, simulated: no cluster runs here.

Replays a job arrival trace (a burst of 200 jobs, then one every 2 minutes for 3 hours; run
times log-normal around 5 minutes, 1 in 20 around an hour; seeded) against KEDA's documented
rule: every `pollingInterval` seconds, desired = ceil(metric / target), bounded by min and max
replicas; to zero only after `cooldownPeriod` without activity. The HPA under it scales up by
at most max(4 pods, 100%) a minute, and down to the highest desire of the last 300 s, one pod
per 120 s (our manifest's behavior). A pod serves after 90 s of start-up.

A Deployment's scale-down picks its victim by its own ranking, not by what the pod is doing:
here the newest pod goes first. A busy victim stops taking jobs and keeps its GPU until its
job ends, within its grace (14,460 s: deploy/k8s's stop grace, at least a job's hard time
limit); a job still running then would be stopped and sent again, its time so far lost.

Reports per setting the queue wait p50/p95, GPU-hours (pods alive) and jobs cut short.

    python -m benchmarks.autoscale_sim
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

START_S, GRACE_S, WINDOW_S, DOWN_EVERY_S, HORIZON_S = 90, 14460, 300, 120, 6 * 3600


@dataclass(frozen=True)
class Setting:
    name: str
    metric: str  # "queued" (the Redis list) or "queued+running" (the jobs table)
    max_replicas: int
    target: int = 1
    polling_s: int = 15
    cooldown_s: int = 300


@dataclass
class Pod:
    born: float
    ready: float
    job: int | None = None
    busy_until: float = 0.0
    leaving_at: float | None = None  # grace deadline once chosen for scale-down
    gone: float | None = None


@dataclass
class Outcome:
    waits: list[float] = field(default_factory=list)
    gpu_hours: float = 0.0
    cut_short: int = 0


def trace(seed: int = 0) -> list[tuple[float, float]]:
    """(arrival s, run time s) of each job: 200 at once, then one every 120 s for 3 h. Run
    times: 19 in 20 log-normal around 5 minutes, 1 in 20 around an hour (a full suite)."""
    rng = random.Random(seed)
    arrivals = [0.0] * 200 + [120.0 * i for i in range(1, 91)]
    medians = [300.0 if rng.random() < 0.95 else 3600.0 for _ in arrivals]
    pairs = zip(arrivals, medians, strict=True)
    return [(t, rng.lognormvariate(math.log(m), 0.5)) for t, m in pairs]


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def simulate(setting: Setting, jobs: list[tuple[float, float]]) -> Outcome:
    out = Outcome()
    queue = list(range(len(jobs)))  # job indices waiting, in arrival order
    started: dict[int, float] = {}
    pods: list[Pod] = []
    desires: list[tuple[float, int]] = []
    last_active, last_down, last_up = 0.0, -1e9, -1e9
    for t in range(HORIZON_S):
        live = [p for p in pods if p.gone is None]
        for p in live:  # finish jobs, leave when done or at the grace deadline
            if p.job is not None and t >= p.busy_until:
                p.job = None
            if p.leaving_at is not None and (p.job is None or t >= p.leaving_at):
                if p.job is not None:  # stopped at the grace: sent again, time lost
                    out.cut_short += 1
                    queue.insert(0, p.job)
                    p.job = None
                p.gone = t
        live = [p for p in pods if p.gone is None]
        waiting = [j for j in queue if jobs[j][0] <= t]
        for p in live:  # an idle, ready pod takes the oldest waiting job (prefetch 1)
            if p.job is None and p.leaving_at is None and t >= p.ready and waiting:
                j = waiting.pop(0)
                queue.remove(j)
                p.job, p.busy_until = j, t + jobs[j][1]
                if j not in started:  # a job sent again keeps its first wait
                    started[j] = t
                    out.waits.append(t - jobs[j][0])
        if t % setting.polling_s:
            continue
        running = sum(p.job is not None for p in live)
        metric = len(waiting) + (running if setting.metric == "queued+running" else 0)
        if metric > 0:
            last_active = t
        want = min(setting.max_replicas, math.ceil(metric / setting.target))
        if want == 0 and t - last_active < setting.cooldown_s:
            want = 1 if live else 0  # KEDA keeps one until the cooldown has passed
        desires = [(s, d) for s, d in desires if s > t - WINDOW_S] + [(t, want)]
        serving = [p for p in live if p.leaving_at is None]
        if want > len(serving) and (t - last_up >= 60 or not serving):
            grow = min(want - len(serving), max(4, len(serving)))  # the HPA's scale-up limit
            pods += [Pod(born=t, ready=t + START_S) for _ in range(grow)]
            last_up = t
        stable = max(d for _, d in desires)
        if stable < len(serving) and t - last_down >= DOWN_EVERY_S:
            victim = max(serving, key=lambda p: p.born)  # the newest, busy or not
            victim.leaving_at = t + GRACE_S
            last_down = t
    for p in pods:
        out.gpu_hours += ((p.gone if p.gone is not None else HORIZON_S) - p.born) / 3600
    return out


SETTINGS = [
    Setting("queue list only, max 16", "queued", 16),
    Setting("queued + running, max 16", "queued+running", 16),
    Setting("queued + running, max 32", "queued+running", 32),
    Setting("queued + running, max 32, 2 jobs a pod", "queued+running", 32, target=2),
]


def main() -> int:
    jobs = trace()
    print(f"{len(jobs)} jobs: 200 at once, then one every 120 s; median run "
          f"{percentile([d for _, d in jobs], 0.5):.0f} s\n")  # fmt: skip
    print("| setting | wait p50 | wait p95 | GPU-hours | jobs cut short and sent again |")
    print("|---|---|---|---|---|")
    for s in SETTINGS:
        o = simulate(s, jobs)
        p50, p95 = (percentile(o.waits, q) / 60 for q in (0.5, 0.95))
        print(f"| {s.name} | {p50:.1f} min | {p95:.1f} min | {o.gpu_hours:.1f} | {o.cut_short} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
