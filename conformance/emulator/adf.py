"""Atlassian Document Format (ADF), the rich-text JSON that Cloud's /rest/api/3 uses for
descriptions, environments and comment bodies; /rest/api/2 keeps wiki-markup strings."""

from __future__ import annotations

from typing import Any


def to_adf(text: str | None) -> dict[str, Any] | None:
    """Plain text as an ADF document: one paragraph per line (None stays None)."""
    if text is None:
        return None
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def to_text(value: Any) -> str | None:
    """The text of a request value: a string as is, an ADF document flattened (one line per
    block), None as None; anything else as its ``str``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "doc":
        return "\n".join(_text(block) for block in value.get("content") or [])
    return str(value)


def _text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text") or "")
    return "".join(_text(child) for child in node.get("content") or [])


__all__ = ["to_adf", "to_text"]
