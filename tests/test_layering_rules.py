"""The import arrows point one way: cli -> dashboard -> worker -> core, and core.spec is
pure pydantic. Read from the source, so imports inside functions and commands named by
string ("module:attribute", importlib.import_module) count too."""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "dashboard", "worker", "core")
STRING_IMPORT = re.compile(r"^((?:cli|core|worker|dashboard)(?:\.\w+)+)(?::\w+)?$")

# importer prefix -> what it must never import (prefixes), with the reason.
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("core", ("cli", "dashboard", "worker", "celery", "streamlit"), "core is below them all"),
    ("worker", ("cli", "dashboard", "streamlit"), "the worker serves the CLI and dashboard"),
    ("dashboard", ("cli", "torch"), "the dashboard's install has no torch"),
    ("core.spec", ("torch", "sqlalchemy", "numpy", "celery"), "the spec is pure pydantic"),
    ("core.engine", ("sqlalchemy", "core.store"), "the engine runs without a database"),
]
# core.spec may use these parts of core and nothing else of it.
SPEC_MAY_USE = ("core.spec", "core.errors", "core.storable")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` names: import statements anywhere, and string imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                out.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                out.add(node.module)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (m := STRING_IMPORT.match(node.value))
        ):
            out.add(m.group(1))
    return out


def sources() -> list[Path]:
    return sorted(
        p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "versions" not in p.parts
    )


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        me = module_name(path)
        for imported in sorted(imports_of(path)):
            for importer, banned, why in RULES:
                if under(me, importer) and any(under(imported, b) for b in banned):
                    found.append(f"{me} imports {imported}: {why}")
            outside = not any(under(imported, ok) for ok in SPEC_MAY_USE)
            if under(me, "core.spec") and under(imported, "core") and outside:
                found.append(f"{me} imports {imported}: the spec uses only {SPEC_MAY_USE}")
    return found


def test_no_import_points_the_wrong_way():
    assert violations(sources()) == []


@pytest.mark.parametrize(
    ("module", "line", "why"),
    [
        ("worker/reversed.py", "import dashboard.data", "the worker serves"),
        ("core/reversed.py", "def f():\n    from worker import submit", "below them all"),
        ("core/reversed.py", 'COMMANDS = {"x": "cli.run:run"}', "below them all"),
        ("dashboard/reversed.py", "import torch", "no torch"),
        (
            "core/spec/reversed.py",
            "from core.store.read import query_records",
            "the spec uses only",
        ),
        (
            "core/engine/reversed.py",
            "from core.store.write import write_results",
            "without a database",
        ),
    ],
)
def test_the_rules_catch_a_reversed_arrow(tmp_path, monkeypatch, module, line, why):
    """Each kind of import the rules read, planted in a copy of the layout, is reported."""
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(line + "\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any(why in v for v in violations([path]))
