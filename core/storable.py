"""Text every backend can store: PostgreSQL refuses NUL characters, and UTF-8 lone surrogates.

A spec field holding either is refused at validation, naming the field, on every backend.
Free text recorded for the operator (error messages, rejected message bodies) is escaped
instead, so recording a hostile message can never fail.
"""

from __future__ import annotations


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored as it is, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character (\\x00), which databases cannot store; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return (
            f"contains a lone surrogate ({text[e.start]!a} at position {e.start}), "
            "which is not valid UTF-8; send the text as valid UTF-8"
        )
    return None


def storable(text: str) -> str:
    """`text` with NUL characters and lone surrogates written as backslash escapes."""
    if unstorable(text) is None:
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
