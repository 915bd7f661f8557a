"""host_phases splits blocks by their step time and asks whether the probe slowed with them."""

from benchmarks.host_phases import summarize


def test_a_probe_that_slows_with_the_steps_is_told_apart_from_one_that_does_not():
    steps = [0.40] * 20 + [0.60] * 20
    outside = summarize(steps, [0.43] * 20 + [0.51] * 20)
    assert outside["slow_blocks"] == 20
    assert outside["step_ms_fast"] == 0.40 and outside["step_ms_slow"] == 0.60
    assert outside["probe_ms_slow"] > outside["probe_ms_fast"] and outside["p"] < 0.05

    inside = summarize(steps, [0.43, 0.44] * 20)
    assert inside["probe_ms_slow"] == inside["probe_ms_fast"] and inside["p"] > 0.05


def test_a_run_without_slow_blocks_has_no_test():
    figures = summarize([0.40, 0.41, 0.42, 0.40], [0.43] * 4)
    assert figures["slow_blocks"] == 0 and figures["p"] is None
