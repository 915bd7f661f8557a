"""core is the engine: importing it pulls in neither Celery nor Streamlit."""

import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"


def test_core_modules_import_no_celery_and_no_streamlit():
    modules = sorted(
        "core." + str(p.relative_to(CORE).with_suffix("")).replace("/", ".")
        for p in CORE.rglob("*.py")
        if "migrations" not in p.parts and p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'streamlit'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_cli_help_imports_no_torch():
    code = (
        "import sys; from click.testing import CliRunner; from cli import main;"
        "CliRunner().invoke(main, ['--help']); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_worker_main_process_imports_no_torch():
    """Celery's main process loads worker.tasks; torch loads in the pool child, lazily."""
    code = "import sys, worker.tasks; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=CORE.parent
    )
    assert out.stdout.strip() == "False"


def test_the_dashboard_pages_import_no_torch():
    code = (
        "import sys, runpy\n"
        "from streamlit.testing.v1 import AppTest\n"
        "for page in ('submit', 'jobs', 'compare', 'claims', 'layers', 'workers'):\n"
        "    AppTest.from_file(f'dashboard/views/{page}.py', default_timeout=60).run()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=CORE.parent
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_submit_and_query_paths_import_no_torch():
    """The dashboard submits and reads through these; its slim install has no torch."""
    code = (
        "import sys\nimport worker.client, core.store.write, core.store.read, core.store.jobs\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
