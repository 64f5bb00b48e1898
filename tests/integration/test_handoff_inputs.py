"""Every bad hand-over and every bad recipient is one sentence before any request: the settings
as ``pytest --jira-handoff`` / ``--jira-seal-for`` resolve them (``tests.runs.target_for``)
raise the ``SettingsError`` both commands turn into exit 4 (shown end to end, once per command,
in tests/e2e/test_handoff.py). The sentence never holds the sealed secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.settings import SettingsError
from tests.e2e.test_handoff import BAD_HANDOFFS, PASSWORD, Machine, bad_hand_over, leaks
from tests.runs import target_for


@pytest.mark.parametrize("case", list(BAD_HANDOFFS))
def test_a_bad_hand_over_is_one_sentence_and_nothing_sent(
    case: str, jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("dc-healthy", bot_password=PASSWORD)
    path, identity, words = bad_hand_over(case, server.url, Machine(tmp_path / "support"))
    with pytest.raises(SettingsError) as caught:
        target_for(None, env={}, handoff=str(path), identity=identity[1] if identity else None)
    said = str(caught.value)
    assert words in said and "\n" not in said, said
    assert server.log.entries == []
    assert leaks(PASSWORD, tmp_path, said) == {}


@pytest.mark.parametrize(
    ("recipients", "profile", "words"),
    [
        (("age1nope",), None, "'age1nope' cannot be sealed for"),
        (("age1" + "q" * 58,), None, "its checksum is wrong"),
        (None, "age1nope", "handoff.recipients[0]"),
    ],
    ids=["not-a-recipient", "bad-checksum", "in-the-profile"],
)
def test_a_bad_recipient_is_one_sentence_and_nothing_sent(
    jira_emulator: Any,
    tmp_path: Path,
    recipients: tuple[str, ...] | None,
    profile: str | None,
    words: str,
) -> None:
    server = jira_emulator("dc-healthy")
    profile_path = None
    if profile is not None:
        profile_path = tmp_path / "p.yaml"
        profile_path.write_text(
            f"name: p\nprojects: all-visible\nhandoff:\n  recipients: [{profile}]\n"
        )
    with pytest.raises(SettingsError) as caught:
        target_for(server.url, seal_for=recipients, profile=profile_path)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert server.log.entries == []
