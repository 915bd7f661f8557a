"""User text (labels, error messages) shown as itself where Streamlit renders Markdown."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain_text(text: str) -> str:
    """Every ASCII punctuation mark backslash-escaped, so a job label or an error message
    brings no emphasis, link, image, directive or formula into an alert or a metric label."""
    return _PUNCTUATION.sub(r"\\\1", text)
