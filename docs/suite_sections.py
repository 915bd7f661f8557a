"""Print the verdict table and the per-experiment sections of docs/suites.md for stored runs.

    BNBENCH_DATABASE_URL=... python docs/suite_sections.py article suite-article-quick-...

The sections are pasted under the suite's heading; the prose around them is written by hand.
"""

from __future__ import annotations

import sys

from core.suites import PROFILES, suites
from core.suites.report import evaluate, method_line
from core.suites.verdicts import Verdict


def _arms(e, profile) -> str:
    arms = e.arms(profile)
    if not arms:
        return "none (a direct measurement)"
    base = profile.base()
    parts = []
    for name, fields in arms.items():
        diff = {k: v for k, v in fields.items() if k == "family" or base.get(k) != v}
        parts.append(f"`{name}`: " + ", ".join(f"{k}={v}" for k, v in diff.items()))
    return "; ".join(parts)


def _effect(v: Verdict) -> str:
    if v.effect is None:
        return "-"
    ci = "" if v.ci_low is None else f" [{v.ci_low:+.3f}, {v.ci_high:+.3f}]"
    return f"{v.effect:+.3f}{ci}"


def sections(suite_name: str, group: str) -> str:
    suite = suites()[suite_name]
    profile = PROFILES[group.split("-")[2]]
    verdicts = evaluate(suite, group)
    out = [
        "| experiment | type | margin | quick verdict (CPU) | effect [CI] | level | seeds | "
        "stopped | MDE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        margin = "-" if v.margin is None else f"{v.margin:g}"
        mde = "-" if v.mde is None else f"{v.mde:.3g}"
        out.append(
            f"| `{v.experiment}` | {v.claim_type} | {margin} | **{v.verdict}** | {_effect(v)} | "
            f"{100 * (1 - v.alpha):.3g}% | {v.seeds if v.seeds is not None else '-'} | "
            f"{v.stopped or '-'} | {mde} |"
        )
    for v, e in zip(verdicts, suite.experiments, strict=True):
        out += [
            "",
            f"### `{e.key}`",
            "",
            f"- **Claim:** {e.claim}",
            f"- **Specs ({profile.name}):** {_arms(e, profile)}",
            f"- **Rule:** {e.rule}",
            f"- **Test:** {method_line(v)}",
            f"- **{profile.name.capitalize()} profile, CPU:** **{v.verdict}**. {v.explanation}",
            "- **GPU:** not run yet.",
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(sections(sys.argv[1], sys.argv[2]))
