"""The run's deadline, in-process (``tests.runs.run_checks``): a run it stops is incomplete, with
one RUN_DEADLINE finding for the run and no network finding for the rows it cut short."""

from __future__ import annotations

from typing import Any

from tests.runs import run_checks


def test_the_deadline_is_one_run_deadline_finding_and_no_network_finding(
    jira_emulator: Any,
) -> None:
    server = jira_emulator("dc-healthy", projects=40, latency_ms=300)
    run = run_checks(server.url, deadline="2", concurrency="4")
    assert run.ret == 2, run.terminal
    assert run.result["verdict"] == "incomplete"
    assert run.result["incomplete"]["reasons"] == ["deadline"]
    assert run.result["incomplete"]["finding"]["code"] == "RUN_DEADLINE"
    assert "--jira-deadline" in run.result["incomplete"]["finding"]["remediation"]
    codes = run.codes()
    assert "NET_TIMEOUT" not in codes and "RUN_DEADLINE" not in codes, codes
    # A row the deadline cut is incomplete without a finding; the rows after it are not run at
    # all (issue 23: the deadline bounds the whole run), and listed as such.
    incomplete = [row for row in run.result["results"] if row["outcome"] == "incomplete"]
    assert all(not row["findings"] for row in incomplete)
    assert run.result["incomplete"]["not_run_count"] > 0
