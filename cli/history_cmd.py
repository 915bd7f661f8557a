"""`bnbench regressions` and `bnbench baseline`: results over time (core.history)."""

from __future__ import annotations

import sys
from datetime import UTC
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from cli.spec_options import fail
from cli.tables import Column, emit, format_option
from core.config import dashboard_url
from core.history_defaults import ALPHA, METRICS, MIN_REPEATS, THRESHOLD
from core.store.fingerprints import HARDWARE, PARTS

if TYPE_CHECKING:
    from core.history import ResultSet, Verdict

STATUS_STYLE = {
    "regression": "red",
    "improvement": "green",
    "unchanged": "",
    "too few repeats": "dim",
}


def _hold(value: str) -> tuple[str, ...]:
    if value == "all":
        return PARTS
    if value == "none":
        return ()
    parts = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise click.BadParameter(
            f"{unknown[0]!r} is no fingerprint part; choose from {', '.join(PARTS)}, or all, none"
        )
    return parts


def _set_cell(s: ResultSet) -> str:
    median = f"{s.median:,.0f}" if abs(s.median) >= 100 else f"{s.median:.4g}"
    return f"{s.label()}: n={s.n}, median {median}"


def _row(v: Verdict) -> dict[str, str]:
    from core.history import compare_link, spec_label

    ci = f" [{v.ci[0] - 1:+.1%}, {v.ci[1] - 1:+.1%}]" if v.ci else ""
    return {
        "status": v.status,
        "noisy": "noisy" if v.noisy else "",
        "spec": f"{v.repeat_key[:8]} {spec_label(v.spec)}",
        "baseline": ("pinned " if v.pinned else "") + _set_cell(v.baseline),
        "contender": _set_cell(v.contender),
        "change": f"{v.change:+.1%}{ci}",
        "p": "-" if v.p_value is None else f"{v.p_value:.3g}",
        "changed": v.what_changed or "-",
        "link": compare_link(v, dashboard_url()),
    }


@click.command()
@click.option(
    "--metric", type=click.Choice(list(METRICS)), default="train_samples_per_s",
    show_default=True, help="What to track; throughput is better higher, times lower.",
)  # fmt: skip
@click.option(
    "--since", type=click.DateTime(), default=None,
    help="Only series whose newest result set ended at or after this time (UTC).",
)  # fmt: skip
@click.option(
    "--spec-hash", default=None, help="Only specs whose spec hash or repeat key starts with this."
)
@click.option(
    "--threshold", type=click.FloatRange(0, 1), default=THRESHOLD, show_default=True,
    help="The smallest change of the median that counts, as a fraction: 0.05 is 5%.",
)  # fmt: skip
@click.option(
    "--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=ALPHA,
    show_default=True, help="Significance level of the two-sided Mann-Whitney U test.",
)  # fmt: skip
@click.option(
    "--hold", default=",".join(HARDWARE), show_default=True,
    help="Fingerprint parts a series holds fixed, comma-separated, or all, or none; the others "
    f"may change along it. Parts: {', '.join(PARTS)}.",
)  # fmt: skip
@click.option(
    "--notify", is_flag=True,
    help="POST the regressions not announced before to BNBENCH_ALERT_WEBHOOK.",
)  # fmt: skip
@format_option
def regressions(metric, since, spec_hash, threshold, alpha, hold, notify, fmt) -> None:
    """Compare each series' newest results with its baseline; exit 1 on a regression.

    A series is one spec (every field but the seed) on one GPU and CPU model, by default;
    torch, CUDA, the driver and the thread count may change along it. Its newest result set
    is compared with the set pinned by `bnbench baseline set`, or else the set before it: a
    regression is a two-sided Mann-Whitney U test at --alpha on the repeats' values AND a
    median worse by at least --threshold. Sets need 5 repeats each. Noisy series (IQR over
    10% of the median) are listed again below the table. docs/history.md explains it all.
    """
    from core.history import verdicts

    found = verdicts(metric, _hold(hold), since.replace(tzinfo=UTC) if since else None,
                     spec_hash, threshold, alpha)  # fmt: skip
    console = Console()
    columns = [Column("status", "status", 0), Column("noisy", "noise", 1),
               Column("spec", "spec", 0, max_width=40),
               Column("change", "change [95% CI]", 0), Column("p", "p", 1),
               Column("baseline", "baseline", 2, max_width=44),
               Column("contender", "contender", 2, max_width=44),
               Column("changed", "what changed", 1, max_width=40),
               Column("link", "compare on the dashboard", 3)]  # fmt: skip
    rows = [_row(v) for v in found]
    styles = {"status": lambda s: STATUS_STYLE.get(s, ""), "noisy": lambda s: "yellow"}
    n_reg = sum(v.status == "regression" for v in found)
    notes = [
        f"{metric}; a regression is p < {alpha:g} and a median {threshold:.0%} worse or more; "
        f"scipy.stats.mannwhitneyu, 95% CI of the ratio of medians by scipy.stats.bootstrap; "
        f"at least {MIN_REPEATS} repeats a set"
    ]
    if not found and fmt in ("table", "markdown"):
        console.print("No series has two result sets to compare yet.")
    else:
        emit(columns, rows, f"{len(found)} series, {n_reg} regressed", fmt, console, styles, notes)
    if fmt in ("table", "markdown"):
        for v, row in zip(found, rows, strict=True):
            if v.status == "regression":
                console.print(f"[red]regression[/] {v.repeat_key[:8]}: {row['link']}",
                              highlight=False, soft_wrap=True)  # fmt: skip
    noisy = [(v, row) for v, row in zip(found, rows, strict=True) if v.noisy]
    if noisy and fmt in ("table", "markdown"):
        console.print(
            f"[yellow]{len(noisy)} noisy series[/] (IQR over 10% of the median in a set):"
        )
        for v, row in noisy:
            rel = max(v.baseline.rel_iqr, v.contender.rel_iqr)
            console.print(f"  {escape(row['spec'])}: IQR/median {rel:.0%}")
    if notify:
        _notify(found)
    sys.exit(1 if n_reg else 0)


def _notify(found: list[Verdict]) -> None:
    from core.alerts import announce
    from core.config import webhook_url
    from core.errors import ConfigError

    try:
        hook = webhook_url()
    except ConfigError as e:
        fail([str(e)])
    if hook is None:
        fail(["--notify needs BNBENCH_ALERT_WEBHOOK: set it to the URL that receives the POST"])
    sent = announce(found, hook)
    Console(stderr=True).print(f"notified: {len(sent)} regression(s) not announced before")


@click.group()
def baseline() -> None:
    """Pin the result set that `bnbench regressions` compares newer results with."""


@baseline.command("set")
@click.argument("ref")
def baseline_set(ref: str) -> None:
    """Pin REF: a group id (each spec in the group), or a job id or its prefix (that job's
    group, or the job alone when it ran in no group)."""
    from core.store.baselines import pin
    from core.store.read import JobNotFound

    try:
        pairs = pin(ref)
    except JobNotFound as e:
        fail([str(e)])
    for key, set_ref in pairs:
        click.echo(f"pinned {set_ref} as the baseline of spec {key}")


@baseline.command("list")
@format_option
def baseline_list(fmt: str) -> None:
    """The pinned baselines, newest first."""
    from core.store.baselines import pins

    rows = [{"spec": k, "set": r, "pinned": f"{t:%Y-%m-%d %H:%M}"} for k, r, t in pins()]
    columns = [Column("spec", "spec (repeat key)", 0), Column("set", "pinned set", 0),
               Column("pinned", "pinned at (UTC)", 1)]  # fmt: skip
    emit(columns, rows, f"{len(rows)} pinned baselines", fmt, Console())


@baseline.command("clear")
@click.argument("repeat_key", required=False)
@click.option("--all", "everything", is_flag=True, help="Clear every pin.")
def baseline_clear(repeat_key: str | None, everything: bool) -> None:
    """Unpin the baseline of one spec (its repeat key, or a prefix), or --all of them; the
    set before the newest is the baseline again."""
    from core.store.baselines import unpin

    if not repeat_key and not everything:
        fail(["name a REPEAT_KEY (see `bnbench baseline list`), or pass --all"])
    click.echo(f"cleared {unpin(None if everything else repeat_key)} pin(s)")
