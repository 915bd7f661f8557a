"""`bnbench run` and `show` render a result; time to target says whether a target was set."""

import io

from rich.console import Console

from cli.report import render


def rendered(result) -> str:
    out = io.StringIO()
    render(result, Console(file=out, width=160, color_system=None))
    return out.getvalue()


def test_without_a_target_time_to_target_says_none_was_set_not_not_reached(sample_result):
    _, result = sample_result
    assert result.spec["target_val_accuracy"] is None
    text = rendered(result)
    assert "no target_val_accuracy set" in text and "not reached" not in text


def test_a_target_missed_says_which_target(sample_result):
    _, result = sample_result
    missed = result.model_copy(update={"spec": {**result.spec, "target_val_accuracy": 0.99}})
    assert "0.99 not reached" in rendered(missed)
