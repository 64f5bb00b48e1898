"""The customer command's prompt on a real pseudo-terminal (issue 13): Ctrl-C and Ctrl-D end in
"Cancelled." and exit 2 with no traceback and no request; typed credentials are marked "prompt"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import CANCELLED
from tests.e2e.test_cli import TYPED_PASSWORD, clean_env, type_at_prompts

USER_PROMPT = "Bot user name"
SECRET_PROMPT = "Password or API token of visor-bot"


@pytest.mark.parametrize(
    "keys",
    [
        [(USER_PROMPT, b"\x03")],
        [(USER_PROMPT, b"\x04")],
        [(USER_PROMPT, b"visor-bot\n"), (SECRET_PROMPT, b"\x03")],
        [(USER_PROMPT, b"visor-bot\n"), (SECRET_PROMPT, b"\x04")],
    ],
    ids=["ctrl-c-at-user", "ctrl-d-at-user", "ctrl-c-at-password", "ctrl-d-at-password"],
)
def test_cancelling_at_a_prompt_says_cancelled_and_exits_2(
    jira_emulator: Any, tmp_path: Path, keys: list[tuple[str, bytes]]
) -> None:
    server = jira_emulator("dc-healthy")
    code, screen = type_at_prompts(tmp_path, [server.url], keys, clean_env(tmp_path))
    assert code == CANCELLED == 2, screen
    assert screen.rstrip().endswith("Cancelled."), screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen
    assert "EOFError" not in screen
    assert server.log.entries == []  # nothing was sent
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())


def test_typed_credentials_are_reported_as_from_the_prompt(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("dc-healthy", bot_password=TYPED_PASSWORD)
    keys = [(USER_PROMPT, b"visor-bot\n"), (SECRET_PROMPT, TYPED_PASSWORD.encode() + b"\n")]
    code, screen = type_at_prompts(tmp_path, [server.url], keys, clean_env(tmp_path))
    assert code == 0, screen
    result = json.loads(next((tmp_path / "reports").glob("*.json")).read_text())
    assert result["run"]["settings_sources"]["secret"] == "prompt"
    assert TYPED_PASSWORD not in screen


def test_a_typed_secret_that_cannot_travel_is_exit_4(jira_emulator: Any, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy")
    keys = [(USER_PROMPT, b"visor-bot\n"), (SECRET_PROMPT, "Canary-pw€\n".encode())]
    code, screen = type_at_prompts(tmp_path, [server.url], keys, clean_env(tmp_path))
    assert code == 4, screen
    assert "The secret from the prompt contains a character outside Latin-1" in screen
    assert "Canary-pw" not in screen and "Traceback" not in screen
    assert server.log.entries == []


@pytest.mark.parametrize("scenario", ["sso-redirect", "captcha", "anonymous-fallback"])
def test_the_customer_view_speaks_of_the_prompt_and_names_no_header(
    jira_emulator: Any, tmp_path: Path, scenario: str
) -> None:
    # Credentials typed at the prompt: the advice is in the terms of the prompt, never of
    # environment variables the person did not use, and Jira's headers are said in words.
    server = jira_emulator(scenario)
    keys = [(USER_PROMPT, b"visor-bot\n"), (SECRET_PROMPT, b"visor-bot-password\n")]
    code, screen = type_at_prompts(tmp_path, [server.url], keys, clean_env(tmp_path))
    assert code == 1, screen
    verdict = screen[screen.index("NOT READY for Visor") :]
    assert "Fix these first" in verdict
    for variable in ("JIRA_TOKEN", "JIRA_USER", "JIRA_PASSWORD"):
        assert variable not in verdict, (variable, verdict)
    for header in ("X-Seraph", "X-Authentication-Denied-Reason", "X-AUSERNAME"):
        assert header not in verdict, (header, verdict)
    if scenario == "sso-redirect":
        assert "at the prompt" in verdict
