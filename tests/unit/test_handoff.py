"""The hand-over for Visor support (issue 25), in process: keys, sealing, opening, every bad input.

Files are sealed with the real age format (pyrage); where Debian's ``age`` command is installed,
files go both ways between it and the suite. The secret never appears in a sentence.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from conformance import handoff
from conformance.engine.result import RunResult
from conformance.handoff import Sealed, open_handoff, seal_after_run
from conformance.options import Values, build_settings
from conformance.profile import ProfileError, load_profile
from conformance.report import html, terminal
from conformance.secrets import Secret, encoded_forms
from conformance.settings import Credentials, Settings, SettingsError, describe_settings
from tests.unit.report_fixtures import PASSWORD, finished, make_target

SECRET = "Hand-over+Canary/pw=93&x"
URL = "https://jira.example.com"
AGE = shutil.which("age")
needs_age = pytest.mark.skipif(
    AGE is None, reason="Debian's age command is not installed (apt-get install age)"
)
ACCEPTED = {
    "schema": "visor-jira-conformance/result/v1",
    "verdict": "ready",
    "target": {"url": URL, "deploymentType": "Server", "version": "10.3.12", "buildNumber": 1},
    "results": [
        {"id": "auth.authenticates", "project": None, "outcome": "pass"},
        {"id": "auth.identity", "project": None, "outcome": "pass"},
    ],
}


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, str]:
    """Support's identity file (made by the suite) and its recipient."""
    path = tmp_path / "support" / "visor.key"
    path.parent.mkdir()
    return path, handoff.new_identity(str(path))


def settings_for(
    recipient: str | None,
    *,
    user: str | None = "visor-bot",
    scheme: str = "basic",
    kind: str = "password",
) -> Settings:
    credentials = Credentials(
        user=user,
        secret=Secret(SECRET),
        scheme=scheme,  # type: ignore[arg-type]
        secret_kind=kind,  # type: ignore[arg-type]
        origin="JIRA_PASSWORD",
    )
    return Settings(
        url=URL,
        credentials=credentials,
        seal_for=(recipient,) if recipient else (),
        report_dir=Path("reports"),
    )


def outcome_of(
    settings: Settings,
    path: Path,
    *,
    login: str = "proven",
    result: dict[str, Any] = ACCEPTED,
    now: datetime | None = None,
) -> Sealed | None:
    """What the end of a run with these settings does, with the bundled profile."""
    return seal_after_run(
        login=login,
        result=result,
        settings=settings,
        profile=load_profile(None),
        path=path,
        now=now,
    )


def seal(
    folder: Path,
    recipient: str,
    *,
    now: datetime | None = None,
    result: dict[str, Any] | None = None,
    **settings: Any,
) -> Path:
    path = folder / f"jira.example.com-stamp{handoff.SUFFIX}"
    outcome = outcome_of(
        settings_for(recipient, **settings), path, result=result or ACCEPTED, now=now
    )
    assert outcome is not None and outcome.path == path, outcome
    return path


def problem(raw: Path | str, key: Path | None, **kwargs: Any) -> str:
    """The sentence opening ``raw`` gives; it never carries the secret in any form."""
    with pytest.raises(SettingsError) as caught:
        open_handoff(str(raw), str(key) if key else None, **kwargs)
    sentence = str(caught.value)
    assert not [form for form in encoded_forms(SECRET) if form in sentence], sentence
    assert "\n" not in sentence
    return sentence


# -- support's key -------------------------------------------------------------------------------


def test_a_new_identity_is_private_and_its_recipient_opens_what_is_sealed_for_it(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    path, recipient = identity
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text("ascii")
    assert f"# public key: {recipient}\n" in text
    assert handoff.RECIPIENT_PATTERN.fullmatch(recipient)
    (loaded,) = handoff.load_identities(str(path), "--jira-identity")
    assert str(loaded.to_public()) == recipient


def test_a_new_identity_is_never_written_over_a_file_or_a_link(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = identity
    before = path.read_bytes()
    with pytest.raises(SettingsError, match="exists, and an identity is never written over"):
        handoff.new_identity(str(path))
    assert path.read_bytes() == before
    dangling = tmp_path / "dangling.key"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(SettingsError, match="exists"):
        handoff.new_identity(str(dangling))
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(SettingsError, match="which does not exist"):
        handoff.new_identity(str(tmp_path / "no-folder" / "k"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_an_identity_others_may_read_or_change_is_refused(
    identity: tuple[Path, str], mode: int
) -> None:
    path, _ = identity
    path.chmod(mode)
    with pytest.raises(SettingsError) as caught:
        handoff.load_identities(str(path), "--jira-identity")
    assert f"(mode {mode:04o})" in str(caught.value)
    assert f"chmod 600 {path}" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("# only a comment\n\n", "holds no age identity"),
        ("hello\n", "line 1 of --jira-identity"),
        ("# c\nAGE-PLUGIN-YUBIKEY-1QQQ\n", "but a plugin identity (hardware key)"),
        ("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n", "damaged"),
        ("age-encryption.org/v1\n-> scrypt x\n", "itself encrypted"),
    ],
    ids=["empty", "not-an-identity", "plugin", "bad-checksum", "passphrase-protected"],
)
def test_a_wrong_identity_file_is_one_sentence(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "id.txt"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(SettingsError) as caught:
        handoff.load_identities(str(path), "--jira-identity")
    assert words in str(caught.value)
    assert "QQQQQQQQ" not in str(caught.value)  # a key line is never quoted


def test_an_unreadable_identity_path_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        handoff.load_identities(str(tmp_path / "missing.key"), "VISOR_AGE_IDENTITY")
    with pytest.raises(SettingsError, match="is a folder"):
        handoff.load_identities(str(tmp_path), "VISOR_AGE_IDENTITY")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("age1xyz", "is not an age recipient"),
        ("", "is not an age recipient"),
        ("ssh-ed25519 AAAAC3Nza visor@support", "is not an age recipient"),
        ("age1" + "q" * 58, "its checksum is wrong"),
    ],
)
def test_a_recipient_that_is_not_one_is_one_sentence(text: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        handoff.parse_recipient(text, "--seal-for")
    assert words in str(caught.value) and str(caught.value).startswith("--seal-for ")


def test_a_recipient_is_taken_in_either_case_and_kept_in_lower_case() -> None:
    recipient = str(x25519.Identity.generate().to_public())
    assert handoff.parse_recipient(f"  {recipient.upper()}\n", "--seal-for") == recipient
    assert handoff.short_fingerprint(recipient) == f"{recipient[:8]}...{recipient[-6:]}"


# -- sealing -------------------------------------------------------------------------------------


def test_sealed_then_opened_gives_the_url_credentials_and_where_they_came_from(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(handoff.AGE_MAGIC)
    assert not [f for f in encoded_forms(SECRET) if f.encode() in path.read_bytes()]
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [path.name]  # no temporary file
    opened = open_handoff(str(path), str(key))
    assert opened.url == URL
    assert opened.credentials.user == "visor-bot" and opened.credentials.scheme == "basic"
    assert opened.credentials.secret.reveal() == SECRET
    assert opened.handoff.customer_verdict == "ready"
    assert opened.handoff.bundled_profile == "visor-default"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert opened.handoff.source.startswith(f"handoff {path}, sealed {today} ")
    assert " by " in opened.handoff.source
    assert opened.credentials.origin == "handoff"


def test_a_token_without_a_user_is_sealed_as_a_bearer_token(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient, user=None, scheme="bearer", kind="token")
    creds = open_handoff(str(path), str(key)).credentials
    assert (creds.user, creds.scheme, creds.secret_kind) == (None, "bearer", "token")


def test_every_recipient_can_open_the_one_file(tmp_path: Path) -> None:
    first, second = x25519.Identity.generate(), x25519.Identity.generate()
    settings = Settings(
        url=URL,
        credentials=settings_for(None).credentials,
        seal_for=(str(first.to_public()), str(second.to_public())),
    )
    path = tmp_path / f"x{handoff.SUFFIX}"
    outcome = outcome_of(settings, path)
    assert outcome is not None and outcome.sealed and len(outcome.recipients) == 2
    for key in (first, second):
        assert json.loads(pyrage.decrypt(path.read_bytes(), [key]))["bot"]["secret"] == SECRET


def test_without_a_recipient_nothing_is_sealed_and_nothing_is_said(tmp_path: Path) -> None:
    path = tmp_path / f"x{handoff.SUFFIX}"
    outcome = outcome_of(settings_for(None), path)
    assert outcome is None and not path.exists()


def _result_with(**outcomes: str) -> dict[str, Any]:
    rows = [{"id": check, "project": None, "outcome": o} for check, o in outcomes.items()]
    return {**ACCEPTED, "results": rows}


@pytest.mark.parametrize(
    ("login", "result", "words"),
    [
        ("rejected", ACCEPTED, "Jira refused the bot's login in this run"),
        ("unknown", _result_with(), "never had Jira's answer to the bot's login"),
        (
            "proven",
            _result_with(**{"auth.authenticates": "pass", "auth.identity": "fail"}),
            "(auth.identity) ended fail",
        ),
        ("proven", _result_with(**{"auth.authenticates": "pass"}), "(auth.identity) did not run"),
    ],
    ids=["refused", "never-reached", "not-as-the-bot", "not-confirmed"],
)
def test_a_login_jira_did_not_accept_seals_nothing_and_says_why(
    tmp_path: Path, login: str, result: dict[str, Any], words: str
) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    path = tmp_path / f"x{handoff.SUFFIX}"
    outcome = outcome_of(settings_for(recipient), path, login=login, result=result)
    assert outcome is not None and not outcome.sealed
    assert words in outcome.headline()
    assert outcome.headline().startswith("Nothing was sealed for Visor support")
    assert handoff.short_fingerprint(recipient) in outcome.headline()
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_written_is_not_sealed_and_says_so(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    path = tmp_path / "gone" / f"x{handoff.SUFFIX}"
    outcome = outcome_of(settings_for(recipient), path)
    assert outcome is not None and not outcome.sealed
    assert "could not be written" in outcome.headline()


# -- opening: every bad input is one sentence ----------------------------------------------------


def test_a_file_sealed_for_another_key_names_the_key_that_was_tried(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, str(x25519.Identity.generate().to_public()))
    sentence = problem(path, key)
    assert "was not sealed for this identity" in sentence
    assert f"--seal-for {recipient}" in sentence


def test_a_file_sealed_with_a_passphrase_says_so(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, _ = identity
    path = tmp_path / "pass.age"
    path.write_bytes(pyrage.passphrase.encrypt(b"{}", "a passphrase"))
    assert "encrypted with a passphrase" in problem(path, key)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: d[: len(d) // 2], "is damaged: it was cut short or changed"),
        (lambda d: d[:-1], "is damaged"),
        (lambda d: _flip(d, len(d) - 20), "is damaged"),
        (lambda d: _flip(d, d.index(b"\n---") + 8), "is damaged"),  # the header's MAC
        (lambda d: d[: d.index(b"\n---")], "is damaged"),  # cut inside the header
    ],
    ids=["truncated-half", "truncated-one-byte", "payload-changed", "mac-changed", "header-cut"],
)
def test_a_tampered_or_truncated_file_is_refused(
    identity: tuple[Path, str], tmp_path: Path, damage: Any, words: str
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient)
    path.write_bytes(damage(path.read_bytes()))
    assert words in problem(path, key)


def _sealed_bytes(recipient: str, document: object) -> bytes:
    text = document if isinstance(document, bytes) else json.dumps(document).encode()
    return pyrage.encrypt(text, [x25519.Recipient.from_str(recipient)])


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": handoff.SCHEMA_ID,
        "sealed": {"at": datetime.now(UTC).isoformat(), "host": "laptop", "user": "alice"},
        "target": {"url": URL},
        "bot": {"user": "visor-bot", "authScheme": "basic", "secretKind": "password"},
        "profile": {"name": "p", "source": "p.yaml", "sha256": "0" * 64},
        "result": {"verdict": "ready"},
    }
    document["bot"]["secret"] = SECRET
    for dotted, value in changes.items():
        part, key = dotted.split("__")
        document[part][key] = value
    return document


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"plain words", "is not a hand-over: it is not an age-encrypted file"),
        (b"", "is not a hand-over"),
    ],
    ids=["text", "empty"],
)
def test_a_file_that_is_not_age_is_not_a_hand_over(
    identity: tuple[Path, str], tmp_path: Path, content: bytes, words: str
) -> None:
    key, _ = identity
    path = tmp_path / "x.age"
    path.write_bytes(content)
    assert words in problem(path, key)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"\xff\xfe not json", "is not a hand-over of this tool"),
        ({"schema": "visor-jira-conformance/result/v1"}, "is not a hand-over of this tool"),
        (["a", "list"], "is not a hand-over of this tool"),
        (_document(bot__authScheme="digest"), "bot/authScheme fails the rule 'enum'"),
        (_document(profile__sha256=SECRET), "profile/sha256 fails the rule 'pattern'"),
        (_document(sealed__at="yesterday"), "has no valid sealing time"),
        (_document(sealed__at="2026-01-01T00:00:00"), "has no valid sealing time"),
        (_document(target__url="jira.example.com"), "has no scheme"),
        (_document(bot__user=None), "asks for basic authentication but names no user"),
        (_document(bot__secret=SECRET + "\n" + SECRET), "contains a line break"),
    ],
    ids=[
        "not-json",
        "a-result",
        "a-list",
        "bad-scheme",
        "secret-in-a-field",
        "undated",
        "no-offset",
        "bad-url",
        "basic-without-user",
        "two-line-secret",
    ],
)
def test_an_age_file_that_is_not_a_complete_hand_over_is_one_sentence(
    identity: tuple[Path, str], tmp_path: Path, document: object, words: str
) -> None:
    key, recipient = identity
    path = tmp_path / "x.age"
    path.write_bytes(_sealed_bytes(recipient, document))
    assert words in problem(path, key)


def test_a_hand_over_older_than_the_limit_is_refused_unless_the_limit_is_raised(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient, now=datetime.now(UTC) - timedelta(days=31))
    sentence = problem(path, key)
    assert "(31 days ago), more than the limit of 30 days" in sentence
    assert "--jira-handoff-max-age" in sentence
    assert open_handoff(str(path), str(key), max_age_days=40).url == URL
    assert "limit of 7 days" in problem(
        seal(tmp_path, recipient, now=datetime.now(UTC) - timedelta(days=8)), key, max_age_days=7
    )


def test_a_hand_over_sealed_in_the_future_is_refused(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient, now=datetime.now(UTC) + timedelta(days=3))
    assert "later than now" in problem(path, key)


def test_without_an_identity_the_sentence_says_how_to_give_one(tmp_path: Path) -> None:
    sentence = problem(tmp_path / "x.age", None)
    assert "--jira-identity PATH" in sentence and handoff.IDENTITY_ENV in sentence


# -- the age command, both ways ------------------------------------------------------------------


@needs_age
def test_the_age_command_opens_a_sealed_file(identity: tuple[Path, str], tmp_path: Path) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient)
    opened = subprocess.run(
        [str(AGE), "-d", "-i", str(key), str(path)], capture_output=True, check=True, timeout=60
    )
    document = json.loads(opened.stdout)
    assert document["schema"] == handoff.SCHEMA_ID
    assert document["target"]["url"] == URL and document["bot"]["secret"] == SECRET
    assert document["profile"]["name"] == "visor-default"
    assert len(document["profile"]["sha256"]) == 64
    assert document["result"]["verdict"] == "ready"
    assert document["sealed"]["tool"]["name"] == "visor-jira-conformance"


@needs_age
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_a_file_made_by_age_r_opens_in_the_suite(
    identity: tuple[Path, str], tmp_path: Path, armor: bool
) -> None:
    key, recipient = identity
    path = tmp_path / f"by-age{handoff.SUFFIX}"
    subprocess.run(
        [str(AGE), "-r", recipient, *(["-a"] if armor else []), "-o", str(path)],
        input=json.dumps(_document()).encode(),
        check=True,
        timeout=60,
    )
    opened = open_handoff(str(path), str(key))
    assert opened.url == URL and opened.credentials.secret.reveal() == SECRET
    assert opened.handoff.sealed_by == "alice on laptop"


@pytest.mark.skipif(
    shutil.which("age-keygen") is None, reason="age-keygen (Debian's age package) is not installed"
)
def test_an_identity_made_by_age_keygen_opens_what_the_suite_sealed(tmp_path: Path) -> None:
    key = tmp_path / "keygen.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    recipient = next(
        line.split(": ", 1)[1]
        for line in key.read_text().splitlines()
        if line.startswith("# public key")
    )
    assert open_handoff(str(seal(tmp_path, recipient)), str(key)).url == URL


# -- the settings of both sides ------------------------------------------------------------------


def _values(**given: tuple[Any, str]) -> Values:
    return dict(given)


def test_support_settings_come_from_the_hand_over_and_say_so(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient)
    env = {"JIRA_USER": "someone-else", "JIRA_PASSWORD": "not-this", "JIRA_URL": "https://other"}
    settings = build_settings(
        _values(
            handoff=(str(path), "--jira-handoff"), identity=(str(key), "env VISOR_AGE_IDENTITY")
        ),
        env,
        check_output=False,
    )
    assert settings.url == URL and settings.credentials is not None
    assert settings.credentials.secret.reveal() == SECRET
    assert settings.profile == "visor-default"
    assert settings.handoff is not None
    assert settings.sources["url"] == settings.handoff.source
    for name in ("user", "secret", "auth", "profile"):
        assert settings.sources[name] == "handoff", name
    described = "\n".join(describe_settings(settings))
    assert f"url = {URL} (from handoff {path}, sealed " in described
    assert "the customer's verdict: ready" in described
    assert SECRET not in described


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"url": ("https://x.example", "--jira-url")}, "so --jira-url cannot be given with it"),
        ({"url": ("https://x.example", "the URL argument")}, "so the URL argument cannot"),
        ({"user": ("bot", "--jira-user"), "auth": ("basic", "--jira-auth")}, "leave them out"),
    ],
)
def test_support_cannot_contradict_the_hand_over(
    identity: tuple[Path, str], tmp_path: Path, given: Values, words: str
) -> None:
    key, recipient = identity
    path = seal(tmp_path, recipient)
    values = {**given, "handoff": (str(path), "--jira-handoff"), "identity": (str(key), "--x")}
    with pytest.raises(SettingsError, match=words.replace("(", r"\(")):
        build_settings(values, {}, check_output=False)


def test_customer_recipients_are_checked_and_kept_once(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    values = _values(
        url=(URL, "--jira-url"),
        user=("bot", "--jira-user"),
        **{"seal-for": ((recipient, recipient.upper()), "--seal-for")},
    )
    settings = build_settings(values, {"JIRA_PASSWORD": "pw"}, check_output=False)
    assert settings.seal_for == (recipient,)
    bad = {**values, "seal-for": (("age1nope",), "--seal-for")}
    with pytest.raises(SettingsError, match=r"^--seal-for 'age1nope' cannot be sealed for"):
        build_settings(bad, {"JIRA_PASSWORD": "pw"}, check_output=False)


def test_a_profile_names_its_recipients_and_a_bad_one_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    good = tmp_path / "p.yaml"
    good.write_text(f"name: p\nprojects: all-visible\nhandoff:\n  recipients:\n    - {recipient}\n")
    profile = load_profile(str(good))
    assert profile.handoff_recipients == (recipient,)
    assert len(profile.sha256) == 64 and profile.sha256 != load_profile(None).sha256
    settings = settings_for(None)
    assert handoff.recipients_of(settings, profile) == (recipient,)
    for wrong, words in (
        ("age1nope", "is not an age recipient"),
        ("age1" + "q" * 58, "its checksum is wrong"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"name: p\nprojects: all-visible\nhandoff:\n  recipients:\n    - {wrong}\n")
        with pytest.raises(ProfileError) as caught:
            load_profile(str(bad))
        assert caught.value.line == 4 and caught.value.key == "handoff.recipients[0]"
        assert words in str(caught.value)


# -- what the reports say ------------------------------------------------------------------------


def _sealed_result(outcome: Sealed) -> RunResult:
    return dataclasses.replace(finished(make_target()), handoff=outcome)


def test_the_terminal_and_html_say_sealed_for_whom_and_what_to_do(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    path = tmp_path / f"jira-stamp{handoff.SUFFIX}"
    result = _sealed_result(Sealed((recipient,), path=path))
    block = "\n".join(terminal.closing_block(result, {}, 100))
    page = html.render_summary(result)
    fingerprint = handoff.short_fingerprint(recipient)
    for text in (" ".join(block.split()), page):
        assert f"Sealed for Visor support (recipient {fingerprint})" in text
        assert str(path) in text
        assert "Give the file to Visor support" in text and "then delete it" in text
        assert recipient not in text  # the short fingerprint only
        assert PASSWORD not in text


def test_the_terminal_and_html_say_why_nothing_was_sealed(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    reason = handoff.refusal("rejected", ACCEPTED, settings_for(recipient))
    assert reason is not None
    result = _sealed_result(Sealed((recipient,), reason=reason))
    block = "\n".join(terminal.closing_block(result, {}, 200))
    page = html.render_summary(result)
    for text in (block, page.replace("&#39;", "'")):
        assert "Nothing was sealed for Visor support" in text
        assert "Jira refused the bot's login in this run" in text


def test_an_opened_hand_over_with_another_profile_is_noted(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    opened = open_handoff(str(seal(tmp_path, recipient)), str(key))
    assert opened.handoff.profile_notice(load_profile(None)) is None
    notice = opened.handoff.profile_notice(load_profile("visor-two-way"))
    assert notice is not None and "the customer's run used visor-default" in notice


def test_the_identity_helper_does_not_leave_a_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(SettingsError, match="cannot be written"):
        handoff.new_identity(str(tmp_path / "k"))
    assert list(tmp_path.iterdir()) == []


def test_credentials_that_came_from_a_hand_over_are_not_sealed_again(
    identity: tuple[Path, str], tmp_path: Path
) -> None:
    key, recipient = identity
    opened = open_handoff(str(seal(tmp_path, recipient)), str(key))
    settings = Settings(
        url=opened.url,
        credentials=opened.credentials,
        seal_for=(recipient,),
        handoff=opened.handoff,
    )
    again = tmp_path / "again" / f"x{handoff.SUFFIX}"
    outcome = outcome_of(settings, again)
    assert outcome is not None and not outcome.sealed
    assert "came from a hand-over, so they are not sealed again" in outcome.headline()
