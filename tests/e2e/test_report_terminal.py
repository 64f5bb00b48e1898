"""Jira cannot write into the operator's terminal, and half an emoji loses no report.

A hostile Jira puts terminal controls in what the suite prints: the version string, a project
key and name, error messages. The run's raw stdout (bytes, not pytester's split lines, which
would swallow a bare CR) must hold none of them, in the closing block that both commands print.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

from tests.e2e.accounts import BOT
from tests.servers import json_response, serve

CONTROL = "\x1b[2J\x1b]0;pwned\x07\rbare CR\n[NET_OK] everything is fine \u202etxt.exe\x9b1m"
HALF_EMOJI = "cut \ud83d"
# Controls a terminal acts on: C0 but tab and newline, DEL, C1, bidi overrides and isolates.
FORBIDDEN = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\t", "\n"}
FORBIDDEN |= {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029]}


def hostile_terminal_jira() -> Any:
    """A Jira whose answers carry terminal controls (and a lone surrogate) in what gets printed."""

    @Request.application
    def app(request: Request) -> Response:
        headers = {"X-AUSERNAME": "visor-bot"}
        path = request.path
        if path == "/status":
            return json_response({"state": "RUNNING"}, headers=headers)
        if path.endswith("/serverInfo"):
            info = {
                "baseUrl": f"https://jira.example.com/{CONTROL}",
                "version": f"9.12.3{CONTROL}",
                "versionNumbers": [9, 12, 3],
                "buildNumber": 912003,
                "deploymentType": "Server",
                "serverTitle": CONTROL,
            }
            return json_response(info, headers=headers)
        if path.endswith("/myself"):
            me = {"name": "visor-bot", "key": "visor-bot", "displayName": CONTROL, "active": True}
            return json_response(me, headers=headers)
        if path.endswith("/rest/api/2/project"):
            return json_response([{"id": "1", "key": "EVL", "name": CONTROL}], headers=headers)
        body = {"errorMessages": [CONTROL, HALF_EMOJI], "errors": {}}
        return json_response(body, 404, headers)

    return app


def run_raw(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_")}
    env.update(BOT, NETRC=str(tmp_path / "no-netrc"), COLUMNS="100")
    argv = [sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider"]
    argv += ["--jira-report-dir", str(tmp_path / "reports"), *args]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=300)


def assert_no_terminal_controls(raw: bytes) -> str:
    text = raw.decode("utf-8")  # strict: a lone surrogate would not even have been printed
    found = sorted({repr(c) for c in text if c in FORBIDDEN})
    assert not found, found
    assert not any(line.lstrip().startswith("[NET_OK]") for line in text.splitlines())
    return text


def test_jira_text_reaches_the_closing_block_neutralised(tmp_path: Path) -> None:
    with serve(hostile_terminal_jira()) as url:
        run = run_raw(url, tmp_path, "--tb=no", "-rN")
    text = assert_no_terminal_controls(run.stdout)
    block = text[text.rindex("=" * 100, 0, text.rindex("=" * 100)) :]
    assert "NOT READY for Visor" in block, text[-3000:]
    # The hostile text was printed, visibly escaped, not acted on.
    assert "\\x1b[2J" in block and "\\x0a[NET_OK]" in block
    # Half an emoji lost no report: the JSON and the page are whole.
    reports = tmp_path / "reports"
    (result,) = reports.glob("*.json")
    data = json.loads(result.read_text(encoding="utf-8"))
    assert data["verdict"] == "not-ready"
    (page,) = reports.glob("*.html")
    assert page.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert "cut \ufffd" in result.read_text(encoding="utf-8")
    (junit,) = reports.glob("*.xml")
    ElementTree.parse(junit)  # well-formed: JUnit escapes the surrogate itself
    assert b"Traceback" not in run.stdout + run.stderr


def test_a_default_run_prints_no_control_character_from_jira(tmp_path: Path) -> None:
    with serve(hostile_terminal_jira()) as url:
        run = run_raw(url, tmp_path)
    assert_no_terminal_controls(run.stdout)
