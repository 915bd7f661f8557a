"""Tables for the terminal, for files and for Markdown, from one list of columns.

On a terminal, columns are chosen by width in priority order, so a narrow window drops the
least useful ones whole instead of wrapping every cell into slivers; ids stay copyable.
Piped to a file, every column is written on one line per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import click
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table

PADDING = 3  # a cell's two spaces of padding and its border
FORMATS = ("table", "markdown", "csv", "json")

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    priority: int = 1  # 0: always shown; then kept in ascending order while they fit
    max_width: int | None = None  # longer cells end in an ellipsis on a terminal
    justify: JustifyMethod = "left"


def count(n: int, noun: str) -> str:
    """`1 job`, `3 jobs`, `1 repeat group`: nouns whose plural takes an s."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cell_width(col: Column, rows: list[dict[str, str]]) -> int:
    wanted = max([len(col.header), *(len(r.get(col.key, "")) for r in rows)])
    return min(wanted, col.max_width) if col.max_width else wanted


SHRUNK_MIN = 12  # a shortened column (max_width set) is still worth showing at this width


def fit(columns: list[Column], rows: list[dict[str, str]], width: int) -> list[Column]:
    """The columns that fit in `width`, most important first, shown in their given order. A
    column with a max_width may be shortened further to the room left, down to SHRUNK_MIN."""
    chosen: dict[str, Column] = {}
    used = 1
    for col in sorted(columns, key=lambda c: c.priority):
        need = cell_width(col, rows) + PADDING
        room = width - used - PADDING
        if col.priority == 0 or used + need <= width:
            chosen[col.key] = col
            used += need
        elif col.max_width and room >= SHRUNK_MIN:
            chosen[col.key] = replace(col, max_width=room)
            used += room + PADDING
    return [chosen[c.key] for c in columns if c.key in chosen]


def markdown(columns: list[Column], rows: list[dict[str, str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c.header) for c in columns) + " |"]
    lines.append("|" + "|".join("---:" if c.justify == "right" else "---" for c in columns) + "|")
    lines += ["| " + " | ".join(cell(r.get(c.key, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def show(
    columns: list[Column],
    rows: list[dict[str, str]],
    title: str = "",
    fmt: str = "table",
    console: Console | None = None,
    styles: dict[str, Callable[[str], str]] | None = None,
    notes: list[str] | None = None,
) -> None:
    """Print rows (plain-text cells by column key) as a Rich table or Markdown; notes are
    plain lines printed after it."""
    console = console or Console()
    notes = notes or []
    if fmt == "markdown":
        text = markdown(columns, rows)
        console.out((f"**{title}**\n\n" if title else "") + text, highlight=False)
        for note in notes:
            console.out(f"\n{note}", highlight=False)
        return
    if not console.is_terminal:  # every cell whole: a file has no width to fit
        columns = [replace(c, max_width=None) for c in columns]
        wide = sum(cell_width(c, rows) + PADDING for c in columns) + 1
        console = Console(file=console.file, width=max(wide, len(title), 80), no_color=True)
    shown = fit(columns, rows, console.width)
    hidden = [c.header for c in columns if c.key not in {s.key for s in shown}]
    if title:
        console.print(escape(title), highlight=False)
    table = rich_table(shown, rows, styles)
    console.print(table)
    if hidden:
        notes = [*notes, f"not shown at this width: {', '.join(hidden)} "
                         "(a wider terminal, or --format csv|json|markdown)"]  # fmt: skip
    for note in notes:
        console.print(f"[dim]{escape(note)}[/]", highlight=False)


def rich_table(
    shown: list[Column],
    rows: list[dict[str, str]],
    styles: dict[str, Callable[[str], str]] | None = None,
    title: str | None = None,
) -> Table:
    """The Rich table of these columns (as `fit` chose them), cells escaped and styled."""
    table = Table(title=title, title_justify="left")
    for c in shown:
        table.add_column(
            escape(c.header), no_wrap=True, overflow="ellipsis", max_width=c.max_width,
            justify=c.justify, min_width=min(cell_width(c, rows), c.max_width or 10**6),
        )  # fmt: skip
    styles = styles or {}
    for r in rows:
        cells = []
        for c in shown:
            text = escape(r.get(c.key, ""))
            style = styles[c.key](r.get(c.key, "")) if c.key in styles else ""
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    return table


def emit(
    columns: list[Column],
    rows: list[dict[str, str]],
    title: str = "",
    fmt: str = "table",
    console: Console | None = None,
    styles: dict[str, Callable[[str], str]] | None = None,
    notes: list[str] | None = None,
) -> None:
    """`show` for table and markdown; csv and json write the rows' cells, a column each."""
    if fmt in ("csv", "json"):
        import pandas as pd

        from cli.results_cmd import write_frame

        write_frame(pd.DataFrame(rows, columns=[c.key for c in columns]), fmt, None)
        return
    show(columns, rows, title, fmt, console, styles, notes)
