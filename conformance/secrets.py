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
    """Replaces every registered secret, in all its encodings, by a mask, in time linear in the
    text whatever the secrets look like (a 60,000-character cookie of one repeated character).

    Three structures, each linear by construction:

    * forms shorter than FRAGMENT_CHARS: one compiled alternation of literals; each alternative
      is shorter than FRAGMENT_CHARS, so the engine does a bounded amount of work per position;
    * longer forms: the hashes of their GRAM_CHARS-grams (``_anchors``) and, for the secret's own
      forms, of their FRAGMENT_CHARS-grams (``_windows``). Any run of FRAGMENT_CHARS characters
      of a form holds a whole gram at a position that is a multiple of GRAM_CHARS, so the text is
      looked up only there; a hit looks up the GRAM_CHARS + 1 windows around it, and every window
      found is masked. Work: n / GRAM_CHARS lookups plus GRAM_CHARS + 1 per hit;
    * longer forms masked whole only (the forms of ``user:secret``, which would otherwise mask a
      long user name wherever it appears): looked for with ``str.find`` (CPython's two-way
      search, linear) when an anchor of theirs is in the text, each occurrence skipped whole.

    ``work`` counts the lookups, finds and matches done (tests prove the bound with it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._fragment_forms: set[str] = set()
        self._short: re.Pattern[str] | None = None
        self._exact: tuple[str, ...] = ()  # long forms masked whole only
        self._anchors: set[int] = set()  # GRAM_CHARS-grams of every long form
        self._exact_anchors: set[int] = set()  # ... of the long forms masked whole only
        self._windows: set[int] = set()  # FRAGMENT_CHARS-grams of the secret's own long forms
        self.version = 0  # counts the secrets registered: what was scrubbed before may not be
        self.work = 0

    def register(self, *values: str | Secret | None) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, Secret):
                    value = value.reveal()
                if value and len(value) >= 3:
                    self._add(encoded_forms(value), fragments=True)
            self.version += 1

    def register_login(self, user: str | None, secret: str | Secret | None) -> None:
        """The secret, and the header values built from it (see ``login_forms``)."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            return
        self.register(value)
        with self._lock:
            self._add(login_forms(user, value), fragments=False)
            self.version += 1

    def register_all(self, values: Iterable[str | Secret | None]) -> None:
        self.register(*values)

    def _add(self, forms: set[str], *, fragments: bool) -> None:
        """Index the new forms (the lock is held); fragments only of the secret's own forms."""
        new = forms - (self._fragment_forms if fragments else self._forms)
        if not new:
            return
        self._forms |= new
        short = sorted((f for f in self._forms if len(f) < FRAGMENT_CHARS), key=len, reverse=True)
        # A lookahead, so that overlapping occurrences are all found (the longest at each place).
        self._short = re.compile(f"(?=({'|'.join(map(re.escape, short))}))") if short else None
        long = [form for form in new if len(form) >= FRAGMENT_CHARS]
        for form in long:
            anchors = _gram_hashes(form, GRAM_CHARS)
            if fragments:
                self._anchors.update(anchors)
                self._windows.update(_gram_hashes(form, FRAGMENT_CHARS))
            else:
                hashes = set(anchors)
                self._anchors |= hashes
                self._exact_anchors |= hashes
        if fragments:
            self._fragment_forms |= new
        else:  # a form that is also a secret's own is found by its windows
            self._exact = tuple(sorted({*self._exact, *long}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        if not text or not self._forms:
            return text
        spans = self.spans(text)
        if not spans:
            return text
        parts: list[str] = []
        done = 0
        for start, end in spans:
            parts += (text[done:start], MASK)
            done = end
        parts.append(text[done:])
        return "".join(parts)

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
        if not text or not self._forms:
            return []
        return sorted({text[start:end] for start, end in self.spans(text)})

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The merged spans of ``text`` to mask, in order: every occurrence of every form
        (overlapping ones too) and every FRAGMENT_CHARS window of a secret's own long form."""
        spans: list[tuple[int, int]] = []
        work = 0
        if self._short is not None:
            for match in self._short.finditer(text):  # zero-width: one match per position
                spans.append((match.start(), match.end(1)))
                work += 1
        lookups, windows, exact = self._scan(text)
        work += lookups
        spans += windows
        if exact:
            for form in self._exact:
                work += _occurrences(text, form, spans)
        self.work += work
        return _merged(spans)

    def _scan(self, text: str) -> tuple[int, list[tuple[int, int]], bool]:
        """(lookups, FRAGMENT_CHARS windows of a secret's form, whether a whole-only form may be
        in the text), from the anchors at every GRAM_CHARS-th position."""
        anchors, windows, exact_anchors = self._anchors, self._windows, self._exact_anchors
        if not anchors:
            return 0, [], False
        n = len(text)
        found: list[tuple[int, int]] = []
        lookups = 0
        exact = False
        last = -1  # the last window start looked up
        for i in range(0, n - GRAM_CHARS + 1, GRAM_CHARS):
            lookups += 1
            anchor = hash(text[i : i + GRAM_CHARS])
            if anchor not in anchors:
                continue
            exact = exact or anchor in exact_anchors
            for j in range(max(i - GRAM_CHARS, last + 1, 0), min(i, n - FRAGMENT_CHARS) + 1):
                lookups += 1
                last = j
                if hash(text[j : j + FRAGMENT_CHARS]) in windows:
                    found.append((j, j + FRAGMENT_CHARS))
        return lookups, found, exact


def _occurrences(text: str, form: str, spans: list[tuple[int, int]]) -> int:
    """Add the spans covering every occurrence of ``form`` in ``text``; returns the work done.

    ``str.find`` is linear (CPython's two-way search). Overlapping occurrences mean that
    ``form`` has a period (the distance d between them); the run of ``text`` that keeps that
    period holds every occurrence in it, so it is masked whole, by one pass over it, and the
    search goes on where an occurrence could cross its end. So each character is examined a
    bounded number of times, however self-similar the form and the text are.
    """
    size, n = len(form), len(text)
    work = 1
    start = text.find(form)
    while start >= 0:
        following = text.find(form, start + 1)
        work += 1
        end = start + size
        if 0 <= following < end:
            period = following - start
            while end < n and text[end] == text[end - period]:
                end += 1
                work += 1
            spans.append((start, end))
            start = text.find(form, end - size + 1)
            work += 1
        else:
            spans.append((start, end))
            start = following
    return work


def _gram_hashes(form: str, size: int) -> Iterable[int]:
    """The hashes of every ``size``-character substring of ``form`` (C-level loops)."""
    count = len(form) - size + 1
    return map(hash, map(form.__getitem__, map(slice, range(count), range(size, size + count))))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one, in order."""
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged
