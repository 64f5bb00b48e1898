"""``python -m conformance.emulator``: first stdout line is the base URL, --list, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

from conformance.emulator import SCENARIOS


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
        url = proc.stdout.readline().strip()
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
        url = proc.stdout.readline().strip()
        ca = proc.stdout.readline().strip()
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
