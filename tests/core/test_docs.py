"""The field reference in docs/spec.md is generated from the spec and must stay in step."""

from pathlib import Path

from core.spec.docs import spec_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_spec_reference_is_up_to_date():
    text = (DOCS / "spec.md").read_text()
    assert spec_markdown() in text, "regenerate: bnbench spec --markdown"
