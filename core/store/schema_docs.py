"""Markdown reference of the results schema, generated from the models' column docstrings."""

from __future__ import annotations

from core.store.tables import Base


def schema_markdown() -> str:
    lines = []
    for table in Base.metadata.sorted_tables:
        lines += [
            f"### `{table.name}`",
            "",
            table.comment or "",
            "",
            "| column | type | null | meaning |",
            "|---|---|---|---|",
        ]
        for c in table.columns:
            key = " (pk)" if c.primary_key else ""
            fk = "".join(f" → `{f.target_fullname}`" for f in c.foreign_keys)
            lines.append(
                f"| `{c.name}`{key} | {c.type.compile()}{fk} | "
                f"{'yes' if c.nullable else 'no'} | {c.comment} |"
            )
        names = [i.name for i in table.indexes] + [k.name for k in table.constraints]
        named = sorted(str(n) for n in names if n and not str(n).startswith("pk_"))
        if named:
            lines += ["", "Constraints and indexes: " + ", ".join(f"`{n}`" for n in named)]
        lines.append("")
    return "\n".join(lines)
