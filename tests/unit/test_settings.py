"""Settings: URL validation and where the secret comes from (never the command line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance.options import build_settings
from conformance.secrets import Secret
from conformance.settings import (
    MAX_SECRET_FILE_BYTES,
    RESULT_SCHEMA,
    Credentials,
    SettingsError,
    check_environment,
    load_comparison,
    resolve_credentials,
    validate_url,
)


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
) -> Credentials | None:
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
    assert creds is not None
    assert "hunter2" not in repr(creds) and "hunter2" not in creds.describe()


# -- issue 15: URLs that crashed, exited 2 or made file names too long ---------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("http://[::1", "IPv6 address must be written in full brackets"),
        ("http://a..b/", "empty part (two dots in a row"),
        ("http://jira.example.com:0", "port 0"),
        ("http://[::zz]/", "is not a valid URL"),
        ("http://jira_ex$ample.com/", "invalid host name"),
        ("http://" + "a" * 64 + ".example.com", "longer than 63 characters"),
        ("https://jira.example.com\x00/", "control character"),
    ],
)
def test_urls_that_crashed_are_one_sentence(raw: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_url(raw)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_long_valid_host_is_accepted() -> None:
    host = ".".join(["a" * 61] * 4)[:247].rstrip(".")  # 247 characters, labels under 64
    assert len(host) == 247
    assert validate_url(f"https://{host}/") == f"https://{host}"


def test_ipv6_and_context_paths_are_base_urls() -> None:
    assert validate_url("http://[::1]:8080/jira/") == "http://[::1]:8080/jira"
    assert validate_url("https://example.com/jira") == "https://example.com/jira"
    assert validate_url("https://example.com/tools/jira") == "https://example.com/tools/jira"


@pytest.mark.parametrize(
    ("page", "base"),
    [
        ("https://jira.example.com/browse/KEY-1", "https://jira.example.com"),
        ("https://jira.example.com/projects/KEY", "https://jira.example.com"),
        ("https://jira.example.com/projects/KEY/issues/KEY-1", "https://jira.example.com"),
        ("https://jira.example.com/issues/?jql=project%20%3D%20KEY", "https://jira.example.com"),
        ("https://jira.example.com/secure/Dashboard.jspa", "https://jira.example.com"),
        ("https://jira.example.com/secure/RapidBoard.jspa?rapidView=1", "https://jira.example.com"),
        ("https://jira.example.com/plugins/servlet/desk", "https://jira.example.com"),
        ("https://jira.example.com/login.jsp", "https://jira.example.com"),
        ("https://jira.example.com/logout", "https://jira.example.com"),
        ("https://example.com/jira/browse/KEY-1#comment", "https://example.com/jira"),
        ("https://example.com/jira/secure/Dashboard.jspa", "https://example.com/jira"),
        ("https://example.com/jira/rest/api/2/serverInfo", "https://example.com/jira"),
        (
            "https://acme.atlassian.net/jira/software/projects/KEY/boards/1",
            "https://acme.atlassian.net",
        ),
        ("https://acme.atlassian.net/jira/your-work", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/wiki", "https://acme.atlassian.net"),
    ],
)
def test_every_known_page_gets_the_base_url_to_use(page: str, base: str) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_url(page)
    assert f"points at a Jira page, not at Jira's base URL: use {base} " in str(caught.value)


def test_url_errors_name_how_the_url_was_given() -> None:
    for source in ("--jira-url", "JIRA_URL", "the URL argument"):
        with pytest.raises(SettingsError) as caught:
            validate_url("jira.example.com", source)
        assert str(caught.value).startswith(f"{source} 'jira.example.com' has no scheme")


# -- issue 14 item 8, issue 15: secrets with line breaks, NUL, € and BOMs -------------------------

CANARY = "Canary-s3cret"


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_one_trailing_newline_is_stripped_from_an_env_secret(ending: str) -> None:
    creds = _resolve({"JIRA_PASSWORD": CANARY + ending}, user="bot")
    assert creds is not None and creds.secret.reveal() == CANARY


@pytest.mark.parametrize(
    ("env_name", "value", "words"),
    [
        ("JIRA_PASSWORD", CANARY + "\nmore", "a line break (LF)"),
        ("JIRA_TOKEN", CANARY + "\rmore", "a carriage return (CR)"),
        ("JIRA_PASSWORD", CANARY + "\x00", "a NUL character"),
        ("JIRA_PASSWORD", CANARY + "\n\n", "a line break (LF)"),
        ("JIRA_PASSWORD", CANARY + "€", "a character outside Latin-1"),
        ("JIRA_TOKEN", CANARY + "€", "a character outside Latin-1"),
    ],
)
def test_a_secret_that_cannot_travel_is_refused_without_showing_it(
    env_name: str, value: str, words: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        _resolve({env_name: value}, user="bot")
    message = str(caught.value)
    assert message.startswith(f"The secret from {env_name} contains {words}")
    assert CANARY not in message and "more" not in message and "\n" not in message


def test_secret_file_bom_is_not_part_of_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"\xef\xbb\xbf" + CANARY.encode() + b"\r\n")
    creds = _resolve({}, user="bot", secret_file=str(path))
    assert creds is not None and creds.secret.reveal() == CANARY


def test_secret_file_with_a_line_break_inside_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(CANARY + "\nsecond-line\n")
    with pytest.raises(
        SettingsError, match=r"--jira-secret-file .* contains a line break"
    ) as caught:
        _resolve({}, user="bot", secret_file=str(path))
    assert CANARY not in str(caught.value)


def test_latin1_secret_file_and_netrc_are_clear_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes("pässword".encode("latin-1"))
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        _resolve({}, user="bot", secret_file=str(path))
    netrc_file = tmp_path / "netrc"
    netrc_file.write_bytes(
        "machine jira.example.com login bot password pässword\n".encode("latin-1")
    )
    netrc_file.chmod(0o600)
    with pytest.raises(SettingsError, match=r"netrc file .* is not UTF-8 text"):
        _resolve({"NETRC": str(netrc_file)})


# -- issue 14 item 14: only ordinary files, bounded --------------------------------------------


def test_a_fifo_as_secret_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match="is a named pipe, not an ordinary file"):
        _resolve({}, user="bot", secret_file=str(fifo))


def test_dev_zero_and_a_folder_as_secret_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a device, not an ordinary file"):
        _resolve({}, user="bot", secret_file="/dev/zero")
    with pytest.raises(SettingsError, match="is a folder, not an ordinary file"):
        _resolve({}, user="bot", secret_file=str(tmp_path))


def test_a_huge_secret_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (MAX_SECRET_FILE_BYTES + 1))
    with pytest.raises(SettingsError, match="is larger than 64 KiB"):
        _resolve({}, user="bot", secret_file=str(big))


# -- issue 15: settings that were silently wrong -----------------------------------------------


@pytest.mark.parametrize("env", [{"JIRA_USER": ""}, {}], ids=["empty", "unset"])
def test_a_password_without_a_user_is_a_usage_error_not_a_bearer_token(
    env: dict[str, str],
) -> None:
    with pytest.raises(SettingsError) as caught:
        _resolve({**env, "JIRA_PASSWORD": CANARY})
    assert "JIRA_PASSWORD is set but JIRA_USER is" in str(caught.value)
    assert ("set but empty" in str(caught.value)) == bool(env)
    assert CANARY not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTPS_PROXY", "not a url!!"),
        ("https_proxy", "http://"),
        ("HTTPS_PROXY", "ftp://proxy.example.com"),
        ("ALL_PROXY", "http://proxy.example.com:0"),
    ],
)
def test_a_garbage_proxy_variable_is_a_usage_error_naming_it(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        check_environment("https://jira.example.com", {variable: value}, ca_bundle_given=False)
    assert str(caught.value).startswith(f"{variable} ")
    assert "is not a proxy URL" in str(caught.value)


def test_a_good_proxy_and_a_proxy_password_are_fine_and_never_echoed() -> None:
    check_environment("https://j.example", {"HTTPS_PROXY": "proxy:3128"}, ca_bundle_given=False)
    with pytest.raises(SettingsError) as caught:
        check_environment("https://j.example", {"HTTPS_PROXY": "u:Pr0xyPw@"}, ca_bundle_given=False)
    assert "Pr0xyPw" not in str(caught.value)


def test_requests_ca_bundle_naming_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    env = {"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")}
    with pytest.raises(SettingsError, match=r"REQUESTS_CA_BUNDLE names .* which does not exist"):
        check_environment("https://jira.example.com", env, ca_bundle_given=False)
    check_environment("https://jira.example.com", env, ca_bundle_given=True)  # overridden
    check_environment("http://jira.example.com", env, ca_bundle_given=False)  # not used


# -- issue 13: --jira-compare ----------------------------------------------------------------------


def _previous(tmp_path: Path, url: str = "https://jira.example.com/", **extra: object) -> Path:
    body = {
        "schema": RESULT_SCHEMA,
        "tool": {"name": "visor-jira-conformance", "version": "0.0.9"},
        "target": {"url": url},
        "run": {"started": "2026-11-30T09:00:00+00:00"},
        **extra,
    }
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(body))
    return path


def test_compare_keeps_the_earlier_run_and_its_date_and_version(tmp_path: Path) -> None:
    path = _previous(tmp_path)
    found = load_comparison(str(path), "https://jira.example.com")
    assert (found.started, found.tool_version, found.url) == (
        "2026-11-30T09:00:00+00:00",
        "0.0.9",
        "https://jira.example.com",
    )
    assert found.previous["schema"] == RESULT_SCHEMA and found.path == path


def test_compare_with_another_jira_names_both_urls(tmp_path: Path) -> None:
    path = _previous(tmp_path, url="https://other.example.com")
    with pytest.raises(SettingsError) as caught:
        load_comparison(str(path), "https://jira.example.com")
    assert "https://other.example.com, not https://jira.example.com" in str(caught.value)


def test_compare_refuses_what_is_not_an_earlier_result(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="is not valid JSON"):
        load_comparison(str(bad), "https://jira.example.com")
    bad.write_text(json.dumps({"schema": "something/else"}))
    with pytest.raises(SettingsError, match="is not a result of this tool"):
        load_comparison(str(bad), "https://jira.example.com")
    with pytest.raises(SettingsError, match="is a named pipe"):
        os.mkfifo(tmp_path / "fifo")
        load_comparison(str(tmp_path / "fifo"), "https://jira.example.com")


# -- build_settings: what both commands resolve (conformance.options) ---------------------------


def _values(tmp_path: Path, **given: object) -> dict[str, tuple[object, str]]:
    values: dict[str, tuple[object, str]] = {
        "url": ("https://jira.example.com", "--jira-url"),
        "report-dir": (str(tmp_path / "reports"), "--jira-report-dir"),
    }
    for name, value in given.items():
        values[name.replace("_", "-")] = (value, f"--jira-{name.replace('_', '-')}")
    return values


def test_the_demo_secret_is_reported_as_from_the_demo(tmp_path: Path) -> None:
    settings = build_settings(
        _values(tmp_path),
        {"NETRC": str(tmp_path / "none")},
        demo="dc-healthy",
        demo_url="http://127.0.0.1:5000",
        demo_env={"JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"},
    )
    assert settings.url == "http://127.0.0.1:5000"
    assert settings.sources["secret"] == "--jira-demo" == settings.credentials.origin  # type: ignore[union-attr]
    assert settings.sources["user"] == "--jira-demo account"


def test_the_operators_own_variables_still_win_over_the_demo_accounts(tmp_path: Path) -> None:
    env = {"JIRA_TOKEN": "operator-token", "NETRC": str(tmp_path / "none")}
    settings = build_settings(
        _values(tmp_path),
        env,
        demo="dc-11.3",
        demo_url="http://127.0.0.1:5000",
        demo_env={"JIRA_TOKEN": "visor-bot-token"},
    )
    assert settings.sources["secret"] == "JIRA_TOKEN"


def test_a_set_but_empty_jira_url_is_refused(tmp_path: Path) -> None:
    values = _values(tmp_path)
    values["url"] = ("", "env JIRA_URL")
    with pytest.raises(SettingsError, match="JIRA_URL is set but empty"):
        build_settings(values, {"JIRA_URL": "", "JIRA_TOKEN": "t"})


def test_outputs_and_compare_are_checked_and_kept(tmp_path: Path) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text(
        json.dumps({"schema": RESULT_SCHEMA, "target": {"url": "https://JIRA.example.com/"}})
    )
    settings = build_settings(_values(tmp_path, compare=str(previous)), {"JIRA_TOKEN": "t"})
    assert settings.compare is not None and settings.compare.path == previous
    assert (tmp_path / "reports").is_dir()
    with pytest.raises(SettingsError, match="is a folder"):
        build_settings(_values(tmp_path, json=str(tmp_path)), {"JIRA_TOKEN": "t"})


def test_a_fifo_as_ca_bundle_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match=r"--jira-ca-bundle .* is a named pipe"):
        build_settings(_values(tmp_path, ca_bundle=str(fifo)), {"JIRA_TOKEN": "t"})


@pytest.mark.parametrize(
    "raw",
    [
        "bot:Url-Secret-81@jira.example.com",  # no scheme
        "bot:Url Secret 81@jira.example.com",  # no scheme, a space
        "https://bot:Url Secret 81@jira.example.com",  # a space
        "https://bot:Url/Secret/81@jira.example.com",  # a slash: urlsplit sees a port
        "https://bot:Url-Secret-81@jira example.com",  # a space after the user info
        "https://bot:Url\tSecret-81@jira.example.com",  # a control character
        "//bot:Url-Secret-81@jira.example.com",
    ],
)
def test_a_url_with_credentials_is_never_echoed_with_them(raw: str) -> None:
    """Issue 23: with no scheme, or with a space, the usage error echoed the whole URL."""
    with pytest.raises(SettingsError) as caught:
        validate_url(raw, "JIRA_URL")
    message = str(caught.value)
    assert "JIRA_URL" in message
    for piece in (
        "Url-Secret",
        "Url Secret",
        "Url/Secret",
        "Url\tSecret",
        "Secret-81",
        "Secret 81",
    ):
        assert piece not in message, message


def test_a_number_of_more_than_4300_digits_in_a_compare_file_is_a_usage_error(
    tmp_path: Path,
) -> None:
    """Python refuses to convert it (ValueError, an INTERNALERROR before issue 23)."""
    path = _previous(tmp_path)
    text = path.read_text().replace('"run":', f'\n"duration": {"9" * 5000}, "run":')
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_comparison(str(path), "https://jira.example.com")
    assert "is not a result of this tool" in str(caught.value)
    assert "line 2 holds a number of 5,000 digits" in str(caught.value)
