"""Bad input to a run is one sentence before any request: the settings as ``pytest --jira-*``
resolves them (``tests.runs.settings_for``) raise the ``SettingsError`` both commands turn into
exit 4. That the sentence reaches stderr with exit 4 and no result is written is shown once per
command, end to end (tests/e2e/test_wiring.py, tests/e2e/test_inputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.settings import SettingsError
from tests.runs import settings_for


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("jira.example.com", "has no scheme"),
        ("ftp://jira.example.com", "ftp://"),
        ("https://jira example.com", "white space"),
        ("https://bot:hunter2@jira.example.com", "must not carry credentials"),
        ("https://jira.example.com/?os_username=bot", "query string"),
        ("https://jira.example.com/#top", "fragment"),
    ],
    ids=["no-scheme", "ftp", "space", "credentials", "query", "fragment"],
)
def test_malformed_url_is_a_usage_error_in_one_sentence(url: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for(url)
    said = str(caught.value)
    assert words in said and "\n" not in said
    assert "hunter2" not in said


def test_missing_secret_is_a_usage_error() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for("https://jira.example.com", env={"JIRA_USER": "visor-bot"})
    assert "JIRA_PASSWORD" in str(caught.value) and "AUTH_NO_CREDENTIALS" in str(caught.value)


def test_unreadable_secret_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for(
            "https://jira.example.com",
            secret_file=tmp_path / "missing",
            env={"JIRA_USER": "u"},
        )
    assert "--jira-secret-file" in str(caught.value) and "cannot be read" in str(caught.value)


def test_bad_numbers_are_usage_errors() -> None:
    with pytest.raises(SettingsError, match="--jira-concurrency"):
        settings_for("https://jira.example.com", concurrency="0")
    with pytest.raises(SettingsError, match="is not a number"):
        settings_for("https://jira.example.com", timeout="soon")
