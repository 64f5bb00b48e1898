"""The hand-over across two machines (issue 25), as real processes against the emulator.

Each "machine" is a folder with its own HOME, working folder and TMPDIR. Support makes its key
with ``visor-jira-check --new-identity``; the customer seals with ``visor-jira-check URL
--seal-for RECIPIENT``; the file is copied across; support opens it with ``pytest --jira-handoff``
and must see the same verdict. Afterwards every file either machine holds (reports, caches, the
temporary folders the runs used) and everything they printed is searched for the secret in every
encoding. Every bad input is exit 4 and one sentence, with not one request at the emulator.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pyrage import x25519

from conformance import handoff
from conformance.emulator import EmulatorServer
from conformance.profile import load_profile
from conformance.secrets import Secret
from conformance.settings import Credentials, Settings
from tests.e2e.test_cli import COMMAND
from tests.e2e.test_secret_canaries import forms
from tests.runs import AS_USERS_RUN

PASSWORD = "Seal+Canary/pw=58&q"
TOKEN = "SealCanaryToken7Kq2x9"


@dataclass
class Machine:
    """A simulated computer: its own HOME, working folder and temporary folder."""

    root: Path

    def __post_init__(self) -> None:
        for folder in (self.home, self.cwd, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def cwd(self) -> Path:
        return self.root / "work"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JIRA_", "VISOR_", "PYTEST_"))
            and not key.upper().endswith("_PROXY")
            and key not in ("HOME", "TMPDIR", "NETRC")
        }
        env.update(HOME=str(self.home), TMPDIR=str(self.tmp), COLUMNS="100", **extra)
        env["PYTEST_ADDOPTS"] = " ".join(AS_USERS_RUN)
        return env

    def run(self, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
        return result

    def new_identity(self) -> tuple[Path, str]:
        key = self.home / ".config" / "visor" / "support.key"
        key.parent.mkdir(parents=True)
        made = self.run([COMMAND, "--new-identity", str(key)])
        assert made.returncode == 0, made.stderr
        return key, made.stdout.strip().splitlines()[-1]

    def pytest(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "pytest", *args], **env)


def leaks(secret: str, root: Path, *outputs: str) -> dict[str, list[str]]:
    """Every file under ``root`` and every output, with the forms of ``secret`` found in it."""
    texts = {f"output {n}": text for n, text in enumerate(outputs)}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            texts[str(path.relative_to(root))] = path.read_bytes().decode("latin-1")
    found = {name: sorted(f for f in forms(secret) if f in text) for name, text in texts.items()}
    return {name: hits for name, hits in found.items() if hits}


@dataclass(frozen=True)
class Account:
    scenario: str
    env: dict[str, str]
    server: dict[str, str]
    secret: str
    words: str  # how the closing block names the secret


ACCOUNTS = {
    "password": Account(
        "dc-healthy",
        {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD},
        {"bot_password": PASSWORD},
        PASSWORD,
        "the bot's user name and password",
    ),
    "pat": Account(
        "dc-healthy", {"JIRA_TOKEN": TOKEN}, {"bot_token": TOKEN}, TOKEN, "the bot's token"
    ),
    "cloud": Account(
        "cloud",
        {"JIRA_USER": "visor-bot@example.com", "JIRA_TOKEN": TOKEN},
        {"bot_token": TOKEN},
        TOKEN,
        "the bot's user name and token",
    ),
}


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_sealed_by_the_customer_opened_by_support_the_same_ready(
    name: str, jira_emulator: Any, tmp_path: Path
) -> None:
    account = ACCOUNTS[name]
    server: EmulatorServer = jira_emulator(account.scenario, **account.server)
    support, customer = Machine(tmp_path / "support"), Machine(tmp_path / "customer")
    key, recipient = support.new_identity()

    sealed = customer.run([COMMAND, server.url, "--seal-for", recipient], **account.env)
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    closing = " ".join(sealed.stdout.split())
    assert f"Sealed for Visor support (recipient {handoff.short_fingerprint(recipient)})" in closing
    assert account.words in closing
    (made,) = (customer.cwd / "reports").glob(f"*{handoff.SUFFIX}")
    (customer_json,) = (customer.cwd / "reports").glob("*.json")
    assert made.name.removesuffix(handoff.SUFFIX) == customer_json.name.removesuffix(".json")
    customer_result = json.loads(customer_json.read_text("utf-8"))

    received = support.cwd / made.name  # e-mailed across
    shutil.copyfile(made, received)
    server.log.clear()
    opened = support.pytest(
        "--jira-handoff", received.name, "-p", "cacheprovider", VISOR_AGE_IDENTITY=str(key)
    )
    assert opened.returncode == 0, opened.stdout + opened.stderr
    # The header wraps to the terminal's width: read it as one text.
    header = " ".join(opened.stdout.split())
    assert f"jira: {server.url} (from handoff {received.name}, sealed " in header
    assert f"READY for Visor: {server.url}" in opened.stdout
    (support_json,) = (support.cwd / "reports").glob("*.json")
    result = json.loads(support_json.read_text("utf-8"))
    assert result["verdict"] == customer_result["verdict"] == "ready"
    assert result["bot"] == customer_result["bot"]
    sources = result["run"]["settings_sources"]
    assert sources["url"].startswith(f"handoff {received.name}, sealed ")
    assert sources["secret"] == "handoff" and sources["identity"] == "env VISOR_AGE_IDENTITY"
    assert len(server.log.entries) > 0 and server.log.failed_logins() == 0
    assert not list((support.cwd / "reports").glob(f"*{handoff.SUFFIX}"))  # not sealed again

    found = leaks(
        account.secret, tmp_path, sealed.stdout, sealed.stderr, opened.stdout, opened.stderr
    )
    assert found == {}, found
    assert list(support.cwd.glob("**/.pytest_cache")), "the cache was searched too"


def test_a_refused_login_seals_nothing_and_says_why(jira_emulator: Any, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy")
    customer = Machine(tmp_path / "customer")
    recipient = str(x25519.Identity.generate().to_public())
    run = customer.run(
        [COMMAND, server.url, "--seal-for", recipient],
        JIRA_USER="visor-bot",
        JIRA_PASSWORD=PASSWORD,  # not the bot's password
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert server.log.failed_logins() == 1
    closing = " ".join(run.stdout.split())
    assert "Nothing was sealed for Visor support" in closing
    assert "Jira refused the bot's login in this run" in closing
    reports = customer.cwd / "reports"
    assert not list(reports.glob(f"*{handoff.SUFFIX}"))
    (page,) = reports.glob("*.html")
    assert "Jira refused the bot&#39;s login in this run" in page.read_text("utf-8")
    assert leaks(PASSWORD, tmp_path, run.stdout, run.stderr) == {}


# -- bad inputs: exit 4, one sentence, nothing sent -------------------------------------------


def _seal_for_test(folder: Path, url: str, recipient: str, days_ago: float = 0) -> Path:
    """A hand-over of the emulator's bot, sealed in this process."""
    path = folder / f"127.0.0.1-stamp{handoff.SUFFIX}"
    credentials = Credentials("visor-bot", Secret(PASSWORD), "basic", "password", "JIRA_PASSWORD")
    settings = Settings(url=url, credentials=credentials, seal_for=(recipient,))
    rows = [{"id": c, "project": None, "outcome": "pass"} for c in handoff.LOGIN_CHECKS]
    sealed = handoff.seal_after_run(
        login="proven",
        result={"verdict": "ready", "results": rows},
        settings=settings,
        profile=load_profile(None),
        path=path,
        now=datetime.now(UTC) - timedelta(days=days_ago),
    )
    assert sealed is not None and sealed.sealed
    return path


def _private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _too_open(key: Path) -> None:
    key.chmod(0o644)


def _tampered(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-10] + bytes([data[-10] ^ 0x20]) + data[-9:])


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


BAD_HANDOFFS: dict[str, tuple[Any, str]] = {
    "another-key": (None, "was not sealed for this identity"),
    "missing-identity": (None, "cannot be read (No such file or directory)"),
    "no-identity-given": (None, "needs Visor support's identity to open it"),
    "too-open-identity": (_too_open, "may be read or changed by other users (mode 0644)"),
    "not-an-identity": (None, "line 1 of --jira-identity"),
    "tampered": (_tampered, "is damaged: it was cut short or changed"),
    "truncated": (_truncated, "is damaged: it was cut short or changed"),
    "not-a-hand-over": (None, "is not a hand-over: it is not an age-encrypted file"),
    "too-old": (None, "more than the limit of 30 days"),
}


def bad_hand_over(case: str, url: str, support: Machine) -> tuple[Path, list[str], str]:
    """A hand-over for ``url`` spoilt as ``case`` says, the identity options that go with it
    (``--jira-identity PATH`` or none), and the words of the sentence it must give."""
    key = support.home / "support.key"
    recipient = handoff.new_identity(str(key))  # the command's own test is below
    sealed_for = str(x25519.Identity.generate().to_public()) if case == "another-key" else recipient
    days = 31 if case == "too-old" else 0
    path = _seal_for_test(support.cwd, url, sealed_for, days_ago=days)
    damage, words = BAD_HANDOFFS[case]
    if case == "too-open-identity":
        damage(key)
    elif damage is not None:
        damage(path)
    if case == "not-a-hand-over":
        path.write_text("Dear Visor support, the password is in the next e-mail.\n")
    identity = {
        "missing-identity": ["--jira-identity", str(key.with_name("missing.key"))],
        "no-identity-given": [],
        "not-an-identity": ["--jira-identity", str(_private(support.cwd / "w.key", "not a key"))],
    }.get(case, ["--jira-identity", str(key)])
    return path, identity, words


def test_a_bad_hand_over_is_exit_4_one_sentence_and_nothing_sent(
    jira_emulator: Any, tmp_path: Path
) -> None:
    """Through pytest; the sentence of every kind of bad hand-over is
    tests/integration/test_handoff_inputs.py."""
    server = jira_emulator("dc-healthy", bot_password=PASSWORD)
    support = Machine(tmp_path / "support")
    path, identity, words = bad_hand_over("tampered", server.url, support)
    run = support.pytest("--jira-handoff", str(path), *identity)
    assert run.returncode == 4, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), run.stderr
    assert words in lines[0], lines[0]
    assert server.log.entries == []
    assert not (support.cwd / "reports").exists()
    assert leaks(PASSWORD, tmp_path, run.stdout, run.stderr) == {}


def test_a_bad_recipient_is_exit_4_one_sentence_and_nothing_sent(
    jira_emulator: Any, tmp_path: Path
) -> None:
    """Through the customer command; the sentence of every kind of bad recipient is
    tests/integration/test_handoff_inputs.py."""
    server = jira_emulator("dc-healthy")
    customer = Machine(tmp_path / "customer")
    args, words = ["--seal-for", "age1nope"], "--seal-for 'age1nope' cannot be sealed for"
    run = customer.run(
        [COMMAND, server.url, *args], JIRA_USER="visor-bot", JIRA_PASSWORD="visor-bot-password"
    )
    assert run.returncode == 4, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("visor-jira-check: error: "), run.stderr
    assert words in lines[0]
    assert server.log.entries == []


def test_the_identity_is_never_written_over(tmp_path: Path) -> None:
    support = Machine(tmp_path / "support")
    key, _ = support.new_identity()
    before = key.read_bytes()
    again = support.run([COMMAND, "--new-identity", str(key)])
    assert again.returncode == 4 and again.stdout == ""
    assert "an identity is never written over another file" in again.stderr
    assert key.read_bytes() == before


def test_the_scan_finds_a_planted_secret_in_any_file(tmp_path: Path) -> None:
    """The search above can fail: the secret planted in a temporary file, base64-encoded inside
    a longer blob, or URL-encoded in output, is found."""
    assert leaks(PASSWORD, tmp_path) == {}
    blob = base64.b64encode(b"visor-bot:" + PASSWORD.encode()).decode()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "x.json").write_text(json.dumps({"auth": f"Basic {blob}"}))
    assert list(leaks(PASSWORD, tmp_path)) == ["tmp/x.json"]
    assert "output 0" in leaks(PASSWORD, tmp_path / "tmp", quote(PASSWORD, safe=""))
