"""Print the verdict table (as `bnbench suite report --out x.md` writes it) and the
per-experiment sections of docs/suites.md for a stored run.

    BNBENCH_DATABASE_URL=... python docs/suite_sections.py article suite-article-quick-...

The sections are pasted under the suite's heading; the prose around them is written by hand.
"""

from __future__ import annotations

import sys

from core.suites import PROFILES, suites
from core.suites.report import evaluate, markdown, method_line


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


def sections(suite_name: str, group: str) -> str:
    suite = suites()[suite_name]
    profile = PROFILES[group.split("-")[2]]
    verdicts = evaluate(suite, group)
    report = markdown(suite, group, verdicts)  # what `bnbench suite report --out x.md` writes
    out = [line for line in report.splitlines() if line.startswith("|")]
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
