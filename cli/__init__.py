"""The `bnbench` command. Subcommands load lazily, so `bnbench --help` imports no torch."""

from __future__ import annotations

import importlib

import click

import core

# name -> "module:attribute"; adding a command is one entry here.
COMMANDS: dict[str, str] = {
    "run": "cli.run:run",
    "spec": "cli.spec_cmd:spec",
    "presets": "cli.spec_cmd:presets",
    "db": "cli.db_cmd:db",
    "results": "cli.results_cmd:results",
    "compare": "cli.results_cmd:compare",
    "show": "cli.show_cmd:show",
    "tag": "cli.annotate_cmd:tag",
    "archive": "cli.annotate_cmd:archive",
    "delete": "cli.annotate_cmd:delete",
    # Queue commands live with the worker; they load only when asked for.
    "submit": "cli.queue_cmd:submit",
    "jobs": "cli.queue_cmd:jobs",
    "cancel": "cli.queue_cmd:cancel",
    "retry": "cli.queue_cmd:retry",
    "workers": "cli.queue_cmd:workers",
    "worker": "cli.queue_cmd:worker",
    "up": "cli.up:up",
    "doctor": "cli.doctor_cmd:doctor",
    "dashboard": "dashboard.launch:dashboard",
    "suite": "cli.suite_cmd:suite",
    "regressions": "cli.history_cmd:regressions",
    "baseline": "cli.history_cmd:baseline",
}


# Commands that read or write jobs: on a new machine they find the schema created, not a
# "no such table" traceback.
NEEDS_SCHEMA = {"results", "compare", "show", "jobs", "cancel", "retry", "workers", "suite",
                "tag", "archive", "delete", "worker", "regressions", "baseline"}  # fmt: skip


def _ensure_schema() -> None:
    from sqlalchemy.exc import OperationalError

    from cli.spec_options import fail
    from core.store.db import redacted
    from core.store.migrate import SchemaTooNew, ensure_schema

    try:
        ensure_schema()
    except SchemaTooNew as e:
        fail([str(e)])
    except OperationalError as e:
        reason = " ".join(str(e.orig or e).split())
        fail([f"the database {redacted()} is unreachable ({reason}); check "
              "BNBENCH_DATABASE_URL, or run `bnbench doctor`"])  # fmt: skip


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(module), attr)
        if name in NEEDS_SCHEMA and not getattr(cmd, "_ensures_schema", False):
            run = cmd.invoke  # runs after --help and option errors have been handled

            def invoke(ctx: click.Context, _run=run):
                _ensure_schema()
                return _run(ctx)

            cmd.invoke, cmd._ensures_schema = invoke, True
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(core.__version__, prog_name="bnbench")
def main() -> None:
    """bnbench: benchmarks for Batch Normalization and Dropout in PyTorch.

    Start with `bnbench run --preset smoke`, list fields with `bnbench spec`.
    """
