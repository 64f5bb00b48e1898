"""Text from Jira made safe for a terminal: no control character can move the cursor, clear the
screen, set the window title or start a forged line.

Everything the suite prints passes through :func:`terminal_safe`: error messages, project keys,
the version string, a CAPTCHA login URL or a redirect ``Location`` all come from the server.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.report.summary import FixItem

# C0 (except tab), DEL, C1, the bidirectional marks, overrides and isolates, the Unicode line and
# paragraph separators, and lone UTF-16 surrogates (which no terminal encoding can print).
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """Replace every control character with a visible escape, e.g. ESC as ``\\x1b``.

    The escape is printable text, so an ``ESC[2J`` arrives as the harmless ``\\x1b[2J`` and a
    line Jira tries to start with a newline stays on the line it was part of.
    """
    return _UNSAFE.sub(_visible, text)


def no_surrogates(text: str) -> str:
    """Replace lone UTF-16 surrogates (half an emoji cut by a truncation) with U+FFFD: UTF-8
    cannot encode them, and a report that holds one cannot be written at all."""
    return _SURROGATE.sub("\ufffd", text)


def skip_reason(record: CheckRecord) -> str:
    """What pytest shows for a row it reports as skipped: blocked, incomplete or not applicable."""
    from conformance.check import Outcome

    if record.outcome is Outcome.BLOCKED and record.blocked_by is not None:
        root = record.root_cause()
        codes = ", ".join(f.code for f in root.findings) or root.outcome.value
        return f"blocked by {root.label} ({codes})"
    if record.outcome is Outcome.INCOMPLETE:
        return "incomplete: " + ("; ".join(record.notes) or "did not run to completion")
    return "; ".join(record.notes) or "not applicable"


def failure_text(
    record: CheckRecord, fix: FixItem | None, *, strict: bool = False, width: int = 80
) -> str:
    """A failing row as pytest's failure text: each finding once, wrapped to ``width``, and
    which numbered fix of the closing block changes it (the remediation is printed there,
    once, however many rows it fixes)."""
    from conformance.check import Outcome
    from conformance.report.terminal import wrap

    lines: list[str] = []
    for f in record.findings:
        lines += wrap(terminal_safe(f"{f.code} ({f.severity}): {f.summary}"), width, "", "  ")
    if record.outcome is Outcome.ERROR:
        for note in record.notes:
            lines += wrap(terminal_safe(note), width, "", "  ")
    if record.outcome is Outcome.BLOCKED:
        lines += wrap(terminal_safe(skip_reason(record).capitalize() + "."), width, "", "  ")
    if strict and record.outcome in (Outcome.WARN, Outcome.BLOCKED):
        what = "warning" if record.outcome is Outcome.WARN else "blocked check"
        lines += wrap(f"A --jira-strict run counts this {what} as failing.", width)
    if fix is not None:
        where = f"What to change: fix #{fix.number} in the list at the end of this run."
    elif record.outcome is Outcome.WARN:
        where = "What to change: see the warnings at the end of this run."
    else:
        where = ""
    lines += wrap(where, width) if where else []
    return "\n".join(lines)
