"""The autoscaler simulation behind docs/deploy.md's table (benchmarks/autoscale_sim.py)."""

from benchmarks.autoscale_sim import SETTINGS, Setting, percentile, simulate, trace


def test_every_job_runs_and_the_pods_cover_their_work():
    jobs = trace()
    for s in SETTINGS:
        o = simulate(s, jobs)
        assert len(o.waits) == len(jobs)  # each job started, its first wait counted once
        assert o.gpu_hours >= sum(d for _, d in jobs) / 3600  # no work without a pod


def test_more_replicas_wait_less_and_cost_more():
    jobs = trace()
    small, large = (simulate(Setting("", "queued+running", n), jobs) for n in (16, 32))
    assert percentile(large.waits, 0.95) < percentile(small.waits, 0.95)
    assert large.gpu_hours > small.gpu_hours


def test_counting_running_jobs_cuts_no_more_jobs_short_than_the_list_alone():
    jobs = trace()
    listed, counted = (simulate(Setting("", m, 16), jobs) for m in ("queued", "queued+running"))
    assert counted.cut_short <= listed.cut_short
    assert simulate(SETTINGS[1], jobs).waits == counted.waits  # deterministic: seeded trace
