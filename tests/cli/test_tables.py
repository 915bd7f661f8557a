"""Tables at any width: a narrow terminal drops whole columns, a pipe gets every column."""

import io

from rich.console import Console

from cli.tables import Column, fit, markdown, show

COLUMNS = [
    Column("job", "job", 0),
    Column("status", "status", 0),
    Column("error", "error", 1, max_width=40),
    Column("worker", "worker", 3),
    Column("label", "label", 2),
]
ROWS = [
    {"job": "0bdb47ee", "status": "failed", "error": "OutOfMemory: try batch_size 32 " * 3,
     "worker": "cpu0@a-rather-long-host-name.example.org", "label": "ux-dash-sweep"},
]  # fmt: skip


def rendered(width: int, terminal: bool, fmt: str = "table") -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    show(COLUMNS, ROWS, "1 job", fmt, console)
    return out.getvalue()


def test_a_narrow_terminal_keeps_ids_whole_and_drops_the_least_useful_columns():
    text = rendered(60, terminal=True)
    assert all(len(line) <= 60 for line in text.splitlines())
    assert "0bdb47ee" in text and "OutOfMemory" in text  # the error column kept, shortened
    assert "cpu0@" not in text and "not shown at this width: worker, label" in text
    assert [c.key for c in fit(COLUMNS, ROWS, 60)] == ["job", "status", "error"]


def test_piped_output_has_every_column_on_one_line_per_row():
    text = rendered(80, terminal=False)
    [row] = [line for line in text.splitlines() if "0bdb47ee" in line]
    assert "cpu0@a-rather-long-host-name.example.org" in row and "ux-dash-sweep" in row
    assert "not shown" not in text


def test_markdown_escapes_pipes_and_keeps_every_column():
    text = markdown(COLUMNS, [{**ROWS[0], "label": "a|b"}])
    assert text.splitlines()[0] == "| job | status | error | worker | label |"
    assert "a\\|b" in text
    assert rendered(40, terminal=True, fmt="markdown").count("\n|") == 3  # header, rule, row
