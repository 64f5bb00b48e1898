"""``python -m conformance.emulator``: first stdout line is the base URL, --list, SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import requests

from conformance.emulator import SCENARIOS
from tests.signals import default_signals


class Spawned(subprocess.Popen[str]):
    """The emulator's command, reading its output line by line (it prints its URL first)."""

    def line(self) -> str:
        assert self.stdout is not None
        return self.stdout.readline().strip()


def _spawn(*args: str) -> Spawned:
    return Spawned(
        [sys.executable, "-m", "conformance.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # the signals reach it even when this test runs in the background
    )


def test_list() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "conformance.emulator", "--list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert names == list(SCENARIOS)


def test_serves_and_stops_on_sigterm() -> None:
    proc = _spawn(
        "--scenario", "dc-9.12", "--fault", "GET /rest/api/2/myself=503", "--context-path", "/jira"
    )
    try:
        url = proc.line()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/jira")
        info = requests.get(f"{url}/rest/api/2/serverInfo", timeout=5).json()
        assert info["version"].startswith("9.12.")
        assert requests.get(f"{url}/rest/api/2/myself", timeout=5).status_code == 503
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_tls_prints_ca_path() -> None:
    proc = _spawn("--scenario", "cloud", "--tls", "--rate-limit", "10/2")
    try:
        url = proc.line()
        ca = proc.line()
        assert url.startswith("https://") and ca.startswith("ca: ")
        r = requests.get(
            f"{url}/rest/api/2/myself",
            verify=ca[4:],
            timeout=5,
            auth=("visor-bot@example.com", "visor-bot-token"),
        )
        assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "10"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_unknown_scenario_is_a_usage_error() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "conformance.emulator", "--scenario", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 4 and "--list" in r.stderr


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_list_says_what_each_demo_shows() -> None:
    lines = [line for line in _run("--list").stdout.splitlines() if line.strip()]
    assert len(lines) == len(SCENARIOS)
    shows = dict(line.split(maxsplit=1) for line in lines)
    assert "AUTH_BASIC_DISABLED" in shows["basic-auth-disabled"]
    assert "AUTH_SSO_REDIRECT" in shows["sso-redirect"]
    assert "RATE_LIMITED" in shows["rate-limited"]
    assert "PERM_MISSING" in shows["read-only-bot"]
    assert "PERM_REQUIRED_FIELD" in shows["mixed-permissions"]


def test_every_option_has_help() -> None:
    from conformance.emulator.__main__ import parser

    actions = [a for a in parser()._actions if a.option_strings]
    assert len(actions) > 15
    assert all(a.help and a.help.strip() for a in actions), [
        a.option_strings for a in actions if not a.help
    ]
    text = _run("--help").stdout
    assert all(a.option_strings[-1] in text for a in actions)


@pytest.mark.parametrize("port", ["80000", "-1", "65536", "http"])
def test_an_invalid_port_is_a_usage_error(port: str) -> None:
    r = _run("--port", port)
    assert r.returncode == 2 and r.stdout == ""
    assert "--port" in r.stderr and "Traceback" not in r.stderr


def test_a_busy_port_is_one_sentence() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = _run("--port", str(busy.getsockname()[1]))
    assert r.returncode == 4 and "cannot listen on 127.0.0.1:" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("--scenario", "dc-healthy", "--broken-projects", "1"),
        ("--scenario", "mixed-permissions", "--projects", "2", "--broken-projects", "3"),
        ("--projects", "0"),
        ("--rate-limit", "0/5"),
    ],
)
def test_impossible_layouts_are_usage_errors(args: tuple[str, ...]) -> None:
    r = _run(*args)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (
            "dc-healthy",
            [
                "bot visor-bot password visor-bot-password token visor-bot-token",
                "admin admin password admin",
            ],
        ),
        ("cloud", ["bot visor-bot@example.com API token visor-bot-token"]),
        ("dc-7.13", ["bot visor-bot password visor-bot-password;"]),
    ],
)
def test_the_accounts_line_follows_the_url(scenario: str, expected: list[str]) -> None:
    proc = _spawn("--scenario", scenario)
    try:
        url = proc.line()
        accounts = proc.line()
        assert url.startswith("http://127.0.0.1:")
        assert accounts.startswith("accounts: ")
        assert all(part in accounts for part in expected), accounts
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_broken_projects_over_the_cli() -> None:
    proc = _spawn(
        "--scenario", "read-only-bot", "--projects", "4", "--broken-projects", "2", "--issues", "5"
    )
    try:
        url = proc.line()
        can_create = {}
        for key in ("P001", "P002", "P003", "P004"):
            perms = requests.get(
                f"{url}/rest/api/2/mypermissions",
                params={"projectKey": key},
                auth=("visor-bot", "visor-bot-password"),
                timeout=5,
            ).json()["permissions"]
            can_create[key] = perms["CREATE_ISSUES"]["havePermission"]
        assert can_create == {"P001": False, "P002": False, "P003": True, "P004": True}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
