"""The bot's secret, and the one place that knows how to keep it out of every artefact.

A report from this suite is attached to support tickets, so nothing it writes may carry the
bot's password or token: not in plain text, not base64-encoded (HTTP basic auth, pytest-html's
``data:`` URIs), not URL-encoded, not escaped by repr() or JSON, not cut short by a truncating
printer. ``Secret`` masks itself wherever Python prints a value, and the ``Redactor`` scrubs text
that crosses into a report.
"""

from __future__ import annotations

import base64
import html
import json
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


MIN_FORM_CHARS = 4
# A run of at least FRAGMENT_CHARS characters of a long form is masked wherever it appears:
# pytest and reprlib cut long values ("abc...xyz"), leaving a head or a tail of the secret.
GRAM_CHARS = 8
FRAGMENT_CHARS = 2 * GRAM_CHARS


_LONE = "surrogatepass"  # a lone surrogate in a secret must not make redaction raise


def _escaped(value: str) -> set[str]:
    """The secret as the suite's own printers can show it: repr, JSON, HTML, URL encodings."""
    forms = {
        value,
        quote(value, safe="", errors=_LONE),
        quote(value, errors=_LONE),  # RFC 3986 path encoding keeps "/"
        quote_plus(value, errors=_LONE),
        quote_plus(value, safe="/", errors=_LONE),
        repr(value)[1:-1],
        value.replace("\\", "\\\\").replace("'", "\\'"),
        value.replace("\\", "\\\\").replace('"', '\\"'),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
    }
    forms |= {repr(form)[1:-1] for form in list(forms)}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}
    return forms


def _encodings(value: str) -> list[bytes]:
    raw = [value.encode("utf-8", errors=_LONE)]
    try:
        latin = value.encode("latin-1")
    except UnicodeEncodeError:
        return raw
    return raw if latin == raw[0] else [*raw, latin]


def _base64_forms(raw: bytes) -> set[str]:
    """base64 of ``raw`` whole, and at the three alignments it can take inside a longer blob."""
    forms = {base64.b64encode(raw).decode()}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        # Drop the characters that depend on the padding bytes, and the tail that depends on
        # whatever follows the secret.
        start = {0: 0, 1: 2, 2: 3}[pad]
        usable_len = ((pad + len(raw)) // 3) * 4
        forms.add(encoded[start:usable_len])
    return forms


def encoded_forms(value: str) -> set[str]:
    """Every form in which ``value`` can show up in text we write.

    base64 is taken at the three alignments, so the secret is found even inside a longer encoded
    blob such as ``base64("user:" + password)``.
    """
    forms = _escaped(value)
    for raw in _encodings(value):
        for encoded in _base64_forms(raw):
            forms |= _escaped(encoded)
    return {form for form in forms if len(form) >= MIN_FORM_CHARS}


def login_forms(user: str | None, secret: str) -> set[str]:
    """The forms of what the suite itself sends, whatever the secret's length: the Basic and
    Bearer header values and base64 of ``user:secret`` (a 2-character password has no base64
    form of its own long enough to mask safely, but ``user:pw`` has)."""
    pair = f"{user or ''}:{secret}"
    forms = {f"Bearer {secret}", pair} if len(secret) >= 1 else set()
    for raw in _encodings(pair):
        whole = base64.b64encode(raw).decode()
        forms |= {f"Basic {whole}", whole}
        # The header value itself base64-encoded again (a pytest-html data: URI of a page that
        # shows it): long and specific enough at every alignment.
        forms |= _base64_forms(f"Basic {whole}".encode()) | _base64_forms(whole.encode())
        if len(secret) >= 3:
            forms |= _base64_forms(raw) | _base64_forms(f"Bearer {secret}".encode(errors=_LONE))
    expanded: set[str] = set()
    for form in forms:
        expanded |= _escaped(form)
    return {form for form in expanded if len(form) >= MIN_FORM_CHARS}


class Redactor:
    """Replaces every registered secret, in all its encodings, by a mask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        # Fragments are looked for in the secret's own forms only: a form of "user:secret"
        # would otherwise mask a long user name wherever it appears.
        self._fragment_forms: set[str] = set()
        self._grams: dict[str, list[tuple[str, int]]] = {}
        self.version = 0  # counts the secrets registered: what was scrubbed before may not be

    def register(self, *values: str | Secret | None) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, Secret):
                    value = value.reveal()
                if value and len(value) >= 3:
                    forms = encoded_forms(value)
                    self._forms |= forms
                    self._fragment_forms |= {f for f in forms if len(f) > FRAGMENT_CHARS}
            self._compile()

    def register_login(self, user: str | None, secret: str | Secret | None) -> None:
        """The secret, and the header values built from it (see ``login_forms``)."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            return
        self.register(value)
        with self._lock:
            self._forms |= login_forms(user, value)
            self._compile()

    def register_all(self, values: Iterable[str | Secret | None]) -> None:
        self.register(*values)

    def _compile(self) -> None:
        self.version += 1
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        grams: dict[str, list[tuple[str, int]]] = {}
        for form in sorted(self._fragment_forms):
            for offset in range(len(form) - GRAM_CHARS + 1):
                grams.setdefault(form[offset : offset + GRAM_CHARS], []).append((form, offset))
        self._grams = grams

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        text = pattern.sub(MASK, text)
        spans = _fragment_spans(text, self._grams)
        for start, end in reversed(spans):
            text = text[:start] + MASK + text[end:]
        return text

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
        """The registered forms, or long fragments of them, found in ``text`` (canary scan)."""
        pattern = self._pattern
        if pattern is None:
            return []
        found = set(pattern.findall(text))
        found |= {text[start:end] for start, end in _fragment_spans(text, self._grams)}
        return sorted(found)


def _fragment_spans(text: str, grams: dict[str, list[tuple[str, int]]]) -> list[tuple[int, int]]:
    """Spans of ``text`` of at least FRAGMENT_CHARS characters that are part of a long form.

    Only every GRAM_CHARS-th position is looked up: any run of 2 * GRAM_CHARS - 1 characters
    contains such a position with a whole gram after it, so no long run is missed.
    """
    if not grams:
        return []
    spans: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while i + GRAM_CHARS <= n:
        best: tuple[int, int] | None = None
        for form, offset in grams.get(text[i : i + GRAM_CHARS], ()):
            left = 0
            while left < i and left < offset and text[i - left - 1] == form[offset - left - 1]:
                left += 1
            right = GRAM_CHARS
            while (
                i + right < n
                and offset + right < len(form)
                and text[i + right] == form[offset + right]
            ):
                right += 1
            if right + left >= FRAGMENT_CHARS and (
                best is None or right + left > best[1] - best[0]
            ):
                best = (i - left, i + right)
        if best is not None:
            if spans and best[0] < spans[-1][1]:
                best = (spans[-1][0], max(best[1], spans[-1][1]))
                spans[-1] = best
            else:
                spans.append(best)
            i = best[1]
        else:
            i += GRAM_CHARS
    return spans
