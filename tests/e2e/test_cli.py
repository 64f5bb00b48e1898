"""``visor-jira-check``, the customer command, run as a customer runs it: a process in a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accounts import BOT
from tests.signals import default_signals

COMMAND = str(Path(sys.executable).with_name("visor-jira-check"))
TYPED_PASSWORD = "typed-Secret-pw-93"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JIRA_") and not k.upper().endswith("_PROXY")
    }
    env["NETRC"] = str(tmp_path / "no-netrc")
    env.update(extra)
    return env


def run_command(
    tmp_path: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


CONTROL_KEYS = (b"\x03", b"\x04")
# What the terminal itself writes back for a control key, whether or not the program saw it.
ECHOES = {b"\x03": b"^C", b"\x04": b"^D"}
RESEND_AFTER_POLLS = 25  # polls of 0.2 s without a change on the screen


def in_terminal(
    tmp_path: Path, args: list[str], answers: list[tuple[str, str]], env: dict[str, str]
) -> tuple[int, str]:
    """Run the command on a pseudo-terminal, typing each answer (and Enter) once its prompt appears."""
    keys = [(prompt, answer.encode() + b"\n") for prompt, answer in answers]
    return type_at_prompts(tmp_path, args, keys, env)


def type_at_prompts(
    cwd: Path, args: list[str], keys: list[tuple[str, bytes]], env: dict[str, str]
) -> tuple[int, str]:
    """Run the command on a pty; once each prompt text appears, send its raw bytes (b"\\x03"...)."""
    return on_pty([COMMAND, *args], cwd, env, keys)


def on_pty(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    keys: list[tuple[str, bytes]] | None = None,
    columns: int | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal (``columns`` wide, if given): everything it wrote, and
    its exit code. Once each prompt text of ``keys`` appears, its raw bytes are typed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pty as its controlling terminal
        default_signals()  # Ctrl-C at the prompt works even when this test runs in the background
        if columns is not None:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
            env = {**env, "COLUMNS": str(columns)}
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    seen = b""
    pending = list(keys or [])
    last: bytes | None = None  # the last key sent, while the screen has not changed since
    quiet = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if last is None or chunk.replace(ECHOES.get(last, b""), b"").strip():
                last, quiet = None, 0  # the program answered (the terminal's echo is not that)
        elif last is not None and last in CONTROL_KEYS:
            quiet += 1
            if quiet % RESEND_AFTER_POLLS == 0:
                # A Ctrl-C typed while readline sets the terminal up can be lost (readline
                # swaps signal handlers around each read): a person would press it again.
                os.write(fd, last)
        if pending and pending[0][0].encode() in seen:
            last = pending.pop(0)[1]
            os.write(fd, last)
    if time.monotonic() >= deadline:
        os.kill(pid, signal.SIGKILL)  # fail, never hang: the screen says where it stopped
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", errors="replace")


def test_without_credentials_and_without_a_terminal_it_says_how_to_give_them(
    tmp_path: Path,
) -> None:
    result = run_command(tmp_path, "https://jira.example.com", env=clean_env(tmp_path))
    assert result.returncode == 4
    assert "JIRA_USER and JIRA_PASSWORD" in result.stderr
    assert "--jira-secret-file" in result.stderr
    assert "never accepted on the command line" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_a_bad_url_is_a_usage_error(tmp_path: Path) -> None:
    result = run_command(tmp_path, "jira.example.com", env=clean_env(tmp_path, **BOT))
    assert result.returncode == 4
    assert "has no scheme" in result.stderr


def test_it_prompts_for_user_and_secret_without_echo(jira_emulator: Any, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy", bot_password=TYPED_PASSWORD)
    code, screen = in_terminal(
        tmp_path,
        [server.url],
        [("Bot user name", "visor-bot"), ("Password or API token of visor-bot", TYPED_PASSWORD)],
        clean_env(tmp_path),
    )
    assert "Password or API token of visor-bot" in screen, screen
    assert TYPED_PASSWORD not in screen  # getpass turned the echo off
    assert code == 0, screen
    assert f"READY for Visor: {server.url}" in screen
    html = sorted((tmp_path / "reports").glob("*.html"))
    assert html and f"HTML   reports/{html[0].name}" in screen
    assert server.log.failed_logins() == 0
    assert {e.user for e in server.log.entries if e.auth} == {"visor-bot"}


def test_not_ready_prints_the_fix_first_list_and_the_reports(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("captcha")
    result = run_command(tmp_path, server.url, env=clean_env(tmp_path, **BOT))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"NOT READY for Visor: {server.url}" in out
    block = out[out.index("Fix these first") :]
    assert block.splitlines()[1].startswith(" 1. [")
    assert "    Fix: " in block
    assert "Reports (attach the HTML report to your Visor ticket):" in block
    for suffix in (".html", ".json", ".xml"):
        assert list((tmp_path / "reports").glob(f"*{suffix}"))
    # The plugin's one-line verdict is replaced by the block, not printed twice.
    assert "visor-jira-conformance: NOT READY" not in out
    assert "visor-bot-password" not in out + result.stderr


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
def test_strict_turns_warnings_into_a_failed_certification(
    jira_emulator: Any, tmp_path: Path, strict: bool
) -> None:
    server = jira_emulator("dc-healthy")  # plain http: NET_PLAIN_HTTP is a warning
    args = [server.url, *(["--jira-strict"] if strict else [])]
    result = run_command(tmp_path, *args, env=clean_env(tmp_path, **BOT))
    assert "READY for Visor" in result.stdout
    assert "NET_PLAIN_HTTP" in result.stdout
    if strict:
        # A strict run with a warning is NOT READY in every report (issue 11).
        assert result.returncode == 1
        assert "NOT READY for Visor" in result.stdout
        assert (
            "Strict certification: NOT passed, 1 warning or blocked check counts as failing."
            in result.stdout
        )
    else:
        assert result.returncode == 0, result.stdout
