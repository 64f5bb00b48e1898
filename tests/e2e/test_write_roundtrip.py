"""A real Ctrl-C to the suite's own process during the write round trip: the issue it created is
still deleted, and the row says the run was interrupted. The round trip's fault matrix and its
rows are tests/integration/test_write_roundtrip.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conformance.emulator import EmulatorServer
from conformance.probes.write import LABEL
from tests.e2e.accounts import BOT
from tests.signals import default_signals

Emulator = Callable[..., EmulatorServer]


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
