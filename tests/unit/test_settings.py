"""Settings: URL validation and where the secret comes from (never the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.secrets import Secret
from conformance.settings import SettingsError, resolve_credentials, validate_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://jira.example.com", "https://jira.example.com"),
        ("https://jira.example.com/", "https://jira.example.com"),
        ("HTTPS://Jira.Example.com:8443/jira/", "https://jira.example.com:8443/jira"),
        ("http://10.0.0.5:8080//jira//", "http://10.0.0.5:8080/jira"),
        ("  https://jira.example.com  ", "https://jira.example.com"),
    ],
)
def test_valid_urls_are_normalised(raw: str, expected: str) -> None:
    assert validate_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "is empty"),
        ("jira.example.com", "has no scheme"),
        ("ftp://jira.example.com", "only served over http:// or https://"),
        ("https://jira example.com", "white space"),
        ("https://bot:pw@jira.example.com", "must not carry credentials"),
        ("https://bot@jira.example.com", "must not carry credentials"),
        ("https://jira.example.com/?a=1", "query string"),
        ("https://jira.example.com/#x", "fragment"),
        ("https://:8080", "no host name"),
        ("https://jira.example.com:99999", "invalid port"),
        ("https://jira.example.com/secure/Dashboard.jspa", "use https://jira.example.com"),
        ("https://jira.example.com/jira/rest/api/2", "use https://jira.example.com/jira"),
    ],
)
def test_malformed_urls_say_what_is_wrong(raw: str, words: str) -> None:
    with pytest.raises(SettingsError, match=None) as caught:
        validate_url(raw)
    assert words in str(caught.value)
    assert "pw@" not in str(caught.value)


def test_credentials_in_url_never_echo_the_password() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_url("ftp://bot:s3cret-pass@jira.example.com")
    assert "s3cret-pass" not in str(caught.value)


def _resolve(
    env: dict[str, str], user: str | None = None, auth: str = "auto", secret_file: str | None = None
):
    return resolve_credentials(
        url="https://jira.example.com", user=user, auth=auth, env=env, secret_file=secret_file
    )


def test_password_with_user_is_basic() -> None:
    creds = _resolve({"JIRA_PASSWORD": "pw"}, user="bot")
    assert creds is not None
    assert (creds.scheme, creds.secret_kind, creds.origin) == ("basic", "password", "JIRA_PASSWORD")
    assert creds.secret.reveal() == "pw"


def test_token_without_user_is_bearer_and_token_wins_over_password() -> None:
    creds = _resolve({"JIRA_TOKEN": "tok", "JIRA_PASSWORD": "pw"})
    assert creds is not None
    assert (creds.scheme, creds.secret_kind, creds.origin) == ("bearer", "token", "JIRA_TOKEN")


def test_token_with_user_is_basic_cloud_style() -> None:
    creds = _resolve({"JIRA_TOKEN": "tok"}, user="bot@example.com")
    assert creds is not None and creds.scheme == "basic" and creds.secret_kind == "token"


def test_basic_without_user_is_a_usage_error() -> None:
    with pytest.raises(SettingsError, match="needs the bot's user name"):
        _resolve({"JIRA_TOKEN": "tok"}, auth="basic")


def test_unknown_auth_scheme_is_a_usage_error() -> None:
    with pytest.raises(SettingsError, match="not one of auto, basic, bearer"):
        _resolve({"JIRA_TOKEN": "tok"}, auth="ntlm")


def test_no_secret_anywhere_gives_none(tmp_path: Path) -> None:
    assert _resolve({"NETRC": str(tmp_path / "absent")}, user="bot") is None


def test_secret_file_is_read_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("  file-secret\n")
    creds = _resolve({"JIRA_PASSWORD": "env-loses"}, user="bot", secret_file=str(path))
    assert (
        creds is not None
        and creds.secret.reveal() == "file-secret"
        and creds.origin == "--jira-secret-file"
    )


def test_unreadable_and_empty_secret_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        _resolve({}, user="bot", secret_file=str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        _resolve({}, user="bot", secret_file=str(empty))


def test_netrc_supplies_user_and_password(tmp_path: Path) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine jira.example.com login netrc-bot password netrc-pw\n")
    netrc_file.chmod(0o600)
    creds = _resolve({"NETRC": str(netrc_file)})
    assert creds is not None
    assert (creds.user, creds.secret.reveal(), creds.origin, creds.scheme) == (
        "netrc-bot",
        "netrc-pw",
        ".netrc",
        "basic",
    )


def test_secret_repr_and_str_are_masked() -> None:
    secret = Secret("hunter2-very-secret")
    assert (
        "hunter2" not in repr(secret)
        and "hunter2" not in str(secret)
        and "hunter2" not in f"{secret}"
    )
    creds = _resolve({"JIRA_PASSWORD": "hunter2-very-secret"}, user="bot")
    assert "hunter2" not in repr(creds) and "hunter2" not in creds.describe()
