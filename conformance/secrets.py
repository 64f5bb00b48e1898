"""The bot's secret, and the one place that knows how to keep it out of every artefact.

A report from this suite is attached to support tickets, so nothing it writes may carry the
bot's password or token: not in plain text, not base64-encoded (HTTP basic auth, pytest-html's
``data:`` URIs), not URL-encoded. ``Secret`` masks itself wherever Python prints a value, and the
``Redactor`` scrubs text that crosses into a report.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"


class Secret:
    """A credential whose repr and str never show the value (pytest prints reprs in tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that needs it: the Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def encoded_forms(value: str) -> set[str]:
    """Every form in which ``value`` can show up in text we write.

    base64 is taken at the three alignments, so the secret is found even inside a longer encoded
    blob such as ``base64("user:" + password)``.
    """
    raw = value.encode()
    forms = {value, quote(value, safe=""), quote_plus(value)}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        # Drop the characters that depend on the padding bytes, and the tail that depends on
        # whatever follows the secret.
        start = {0: 0, 1: 2, 2: 3}[pad]
        usable_len = ((pad + len(raw)) // 3) * 4
        fragment = encoded[start:usable_len]
        if len(fragment) >= 4:
            forms.add(fragment)
    return {form for form in forms if len(form) >= 4}


class Redactor:
    """Replaces every registered secret, in all its encodings, by a mask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, *values: str | Secret | None) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, Secret):
                    value = value.reveal()
                if value and len(value) >= 3:
                    self._forms |= encoded_forms(value)
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def register_all(self, values: Iterable[str | Secret | None]) -> None:
        self.register(*values)

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def scrub_obj(self, value: object) -> object:
        """Scrub strings nested in JSON-like data."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_obj(v) for v in value]
        return value

    def leaks(self, text: str) -> list[str]:
        """The registered forms found in ``text`` (for the final canary scan)."""
        pattern = self._pattern
        return [] if pattern is None else sorted(set(pattern.findall(text)))
