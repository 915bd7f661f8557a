"""A suite report as one HTML page: verdict table, then each claim with its evidence chart."""

from __future__ import annotations

import html

import pandas as pd

from core.suites.model import Suite
from core.suites.report import confidence_note, method_line
from core.suites.verdicts import Verdict
from dashboard import charts

COLORS = {
    "supported": "#1a7f37",
    "not supported": "#cf222e",
    "inconclusive": "#9a6700",
    "corrected": "#0969da",
    "equivalent": "#8250df",
    "invalid design": "#57606a",
}
HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-embed@6"></script>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}
.badge{{color:#fff;border-radius:.6rem;padding:.1rem .6rem;font-size:.85rem}}</style>
</head><body>"""


def _script_json(text: str) -> str:
    """JSON safe inside <script>: '<', '>' and '&' only occur in JSON strings, where their
    \\u escapes mean the same, so no value (a job label is an arm name) can close the element."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _badge(verdict: str) -> str:
    return f'<span class="badge" style="background:{COLORS[verdict]}">{verdict}</span>'


def render(
    suite: Suite,
    group: str,
    verdicts: list[Verdict],
    by_experiment: dict[str, pd.DataFrame],
    url: str | None = None,
) -> str:
    """The report as one HTML page, with epoch-level charts from the database at `url`."""
    from core.store.details import epoch_curves

    def curves(job_ids):
        return epoch_curves(job_ids, url)

    e = html.escape
    out = [
        HEAD.format(title=e(f"bnbench suite {suite.name}")),
        f"<h1>Suite <code>{e(suite.name)}</code></h1><p>{e(suite.description)}</p>",
        f"<p>Results of group <code>{e(group)}</code>. {e(confidence_note(verdicts))}</p>",
        "<table><tr><th>experiment</th><th>verdict</th><th>effect [CI]</th><th>level</th>"
        "<th>seeds</th><th>stopped</th></tr>",
    ]
    for v in verdicts:
        ci = "" if v.ci_low is None else f" [{v.ci_low:+.3f}, {v.ci_high:+.3f}]"
        effect = "-" if v.effect is None else f"{v.effect:+.3f}{ci}"
        seeds = "-" if v.seeds is None else str(v.seeds)
        out.append(
            f"<tr><td>{e(v.experiment)}</td><td>{_badge(v.verdict)}</td><td>{e(effect)}</td>"
            f"<td>{100 * (1 - v.alpha):.3g}%</td><td>{seeds}</td><td>{e(v.stopped or '-')}</td>"
            "</tr>"
        )
    out.append("</table>")
    for i, (v, exp) in enumerate(zip(verdicts, suite.experiments, strict=True)):
        out += [
            f"<h2>{e(v.claim)} {_badge(v.verdict)}</h2>",
            f"<p><b>Effect:</b> {e(v.effect_name)}.</p><p><b>Test:</b> {e(method_line(v))}.</p>"
            f"<p>{e(v.explanation)}</p>",
            f"<p><b>Rule:</b> {e(exp.rule)}</p>",
        ]
        df = by_experiment.get(exp.runs_key)
        for j, chart in enumerate(charts.experiment_charts(exp, df, curves)):
            out.append(
                f'<div id="chart{i}-{j}"></div><script>vegaEmbed("#chart{i}-{j}", '
                f"{_script_json(chart.to_json())});</script>"
            )
    out.append("</body></html>")
    return "\n".join(out)
