"""The write round trip as the suite's process shows it: the record a Jira administrator signs off
(terminal and page), and a real Ctrl-C during the round trip, after which the issue it created is
still deleted and the row says the run was interrupted. The round trip's fault matrix and its
other rows are tests/integration/test_write_roundtrip.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conformance.emulator import EmulatorServer, Fault
from conformance.probes.write import LABEL
from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite
from tests.integration.test_write_roundtrip import assert_only_own_issue
from tests.signals import default_signals

Emulator = Callable[..., EmulatorServer]


def test_write_run_touches_only_its_own_issue_and_reports_each_step(
    jira_emulator: Emulator, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url, "--jira-write-project", "VIS", env=BOT)
    row = run.row("write.roundtrip", "VIS")
    assert row["outcome"] == "pass", row
    created = [e for e in server.log.mutating() if e.method == "POST" and e.path.endswith("/issue")]
    assert len(created) == 1
    key = server.world.created_keys[0]
    assert server.world.deleted_keys == [key]
    assert_only_own_issue(server, key)
    assert server.world.issues_with_label(LABEL) == []
    steps = [n.split(":")[0] for n in row["notes"] if ":" in n]
    for step in ("create", "read", "edit", "reread", "comment", "transition", "delete"):
        assert step in steps, row["notes"]
    assert run.result["http"]["mutating_requests"] == len(server.log.mutating())
    # The record a Jira administrator signs off, terraform style, in the terminal and the page.
    link = f"{server.url}/browse/{key}"
    record = run.stdout[run.stdout.rindex("The write round trip in VIS") :]
    assert record.startswith("The write round trip in VIS: everything it created was deleted.")
    assert re.search(rf"\+ created +{key}: Task labelled {LABEL}\n +{re.escape(link)}\n", record)
    assert re.search(rf"~ changed +{key}: edited summary; added a comment; moved to ", record)
    assert re.search(rf"- deleted +{key}\n", record)
    page = run.artefact(".html").read_text("utf-8")
    writes = page[
        page.index('id="vc-writes"') : page.index("</section>", page.index('id="vc-writes"'))
    ]
    for state, action in (("created", "created"), ("changed", "changed"), ("deleted", "deleted")):
        assert f'<tr class="vc-write-{state}">' in writes and f"<th>{action}</th>" in writes
    assert f"<code>{key}</code>" in writes and f'href="{link}"' in writes


def test_failed_delete_is_named_with_key_and_link(
    jira_emulator: Emulator, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy", faults=[Fault("DELETE", r"/issue/VIS-\d+$", status=403)])
    run = run_suite(server.url, "--jira-write-project", "VIS", env=BOT)
    key = server.world.created_keys[0]
    assert server.world.issues_with_label(LABEL) == [key]
    row = run.row("write.roundtrip", "VIS")
    assert row["outcome"] == "fail"
    (cleanup,) = [f for f in row["findings"] if f["code"] == "WRITE_CLEANUP_FAILED"]
    assert key in cleanup["summary"]
    assert f"{server.url}/browse/{key}" in cleanup["summary"]
    # The report lists Delete Issues as granted: the advice says what Jira answered instead.
    assert run.outcome("permissions.granted", "VIS") == "pass"
    assert (
        "403" in cleanup["summary"] and "Grant the bot Delete Issues" not in cleanup["remediation"]
    )
    assert "The bot holds Delete Issues in VIS" in cleanup["remediation"]
    assert run.ret == 1
    record = run.stdout[run.stdout.rindex("The write round trip in VIS") :]
    assert record.startswith(f"The write round trip in VIS left {key} in Jira")
    assert re.search(rf"! not deleted {key}: Jira answered 403", record)
    page = run.artefact(".html").read_text("utf-8")
    assert '<tr class="vc-write-left">' in page and f"<code>{key}</code>" in page
    # The session-finish safety net asked once more, and Jira refused once more.
    deletes = [e for e in server.log.entries if e.method == "DELETE"]
    assert len(deletes) == 2


def write_suite(url: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a real suite subprocess running only the round trip
    in VIS (its JSON result at tmp_path/result.json), for tests that signal it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_")}
    env.update(BOT, NETRC=str(tmp_path / "none"))
    argv = [sys.executable, "-m", "pytest", "--jira-url", url, "--jira-write-project", "VIS"]
    argv += [
        "-k",
        "roundtrip",
        "-p",
        "no:cacheprovider",
        "--jira-json",
        str(tmp_path / "result.json"),
    ]
    argv += ["--jira-report-dir", str(tmp_path / "reports")]
    return argv, env


def test_ctrl_c_to_the_suite_still_deletes(jira_emulator: Emulator, tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) to a running suite, after its issue was created."""
    server = jira_emulator("dc-healthy", latency_ms=400)
    result = tmp_path / "result.json"
    argv, env = write_suite(server.url, tmp_path)
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # a Ctrl-C reaches it even when this test runs in the background
    )
    try:
        deadline = time.monotonic() + 60
        while not server.world.created_keys and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.world.created_keys, "the suite never created its issue"
        time.sleep(0.1)  # the next step is in flight
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out  # pytest's "interrupted"
    key = server.world.created_keys[0]
    assert server.world.deleted_keys == [key]
    assert server.world.issues_with_label(LABEL) == []
    row = next(r for r in json.loads(result.read_text())["results"] if r["id"] == "write.roundtrip")
    assert row["outcome"] == "incomplete"  # interrupted: not run to completion, not an error
    assert any(n.startswith("interrupted (SIGINT)") and key in n for n in row["notes"]), row
