"""Every environment variable the code reads is in the README's configuration table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SET_BY_THE_LAUNCHER = {"BNBENCH_WORKER_GPU"}  # not a setting: the launcher sets it per process


def variables_in_code() -> set[str]:
    found = set()
    for package in ("cli", "core", "worker", "dashboard"):
        for f in (ROOT / package).rglob("*.py"):
            found |= set(re.findall(r"BNBENCH_[A-Z0-9_]+", f.read_text()))
    return {v for v in found if not v.endswith("_FILE") or v.startswith("BNBENCH_BROKER_")}


def readme_table() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]


def test_every_variable_is_documented_with_a_default():
    table = readme_table()
    rows = [line for line in table.splitlines() if line.startswith("| `BNBENCH_")]
    documented = {v for row in rows for v in re.findall(r"`(BNBENCH_[A-Z0-9_]+)`", row)}
    missing = variables_in_code() - documented - SET_BY_THE_LAUNCHER
    assert not missing, f"add to README.md's configuration table: {sorted(missing)}"
    assert all(row.count("|") == 4 and row.split("|")[2].strip() for row in rows)


def test_the_table_names_no_variable_the_code_does_not_read():
    documented = set(re.findall(r"`(BNBENCH_[A-Z0-9_]+)`", readme_table()))
    stale = documented - variables_in_code() - {"BNBENCH_DATABASE_URL_FILE"}
    assert not stale, f"README documents variables nothing reads: {sorted(stale)}"
