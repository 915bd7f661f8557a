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
    (
        "core.store",
        ("core.suites", "core.suite_runs", "core.local_run", "torch"),
        "the store is below the suites and the runners",
    ),
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


def imports_inside_functions(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, source text) of each import of our own packages in a function body."""
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            found += [(node.lineno, n, source) for n in names if n.split(".")[0] in PACKAGES]
    return found


def lazy_without_reason(files: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name} inside a function"
        for path in files
        if module_name(path).split(".")[0] in ("core", "worker")
        for line, name, source in imports_inside_functions(path)
        if "lazy:" not in source
    ]


def test_core_and_the_worker_import_each_other_at_the_top():
    """Where a reader sees them, and where a cycle would fail at once. An import inside a
    function is deliberate and says why on its line (`# lazy: torch only in the pool
    child`). The CLI's commands and the torch-free dashboard load on demand, and are exempt."""
    assert lazy_without_reason(sources()) == []


def test_an_import_hidden_in_a_function_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "core" / "hidden.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        "def f():\n    from core.store.read import query_records\n\n"
        "def g():\n    import core.engine.run  # lazy: torch only where it runs\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert lazy_without_reason([path]) == [
        "core/hidden.py:2 imports core.store.read inside a function"
    ]


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
        ("core/store/reversed.py", "from core.suites import suites", "below the suites"),
    ],
)
def test_the_rules_catch_a_reversed_arrow(tmp_path, monkeypatch, module, line, why):
    """Each kind of import the rules read, planted in a copy of the layout, is reported."""
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(line + "\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any(why in v for v in violations([path]))


def test_no_package_or_module_takes_a_standard_library_name():
    """A `queue.py` or `types.py` of ours would shadow the standard library's for a script
    run from its folder, and reads as the standard one in an import line."""
    parts = {part for p in sources() for part in p.relative_to(ROOT).with_suffix("").parts}
    assert sorted(parts & sys.stdlib_module_names) == []
