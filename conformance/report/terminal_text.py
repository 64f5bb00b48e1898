"""Text from Jira made safe for a terminal: no control character can move the cursor, clear the
screen, set the window title or start a forged line."""

from __future__ import annotations

import re

# C0 (except tab), DEL, C1, and the bidirectional overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def terminal_safe(text: str) -> str:
    """Replace every control character with a visible escape, e.g. ESC as ``\\x1b``."""
    return _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else f"\\u{ord(m.group(0)):04x}"
        ),
        text,
    )
