"""A row is judged the same however its evidence was fetched.

A full run fetches every planned probe ahead, concurrently, while earlier rows are judged; a run
of one row (``-k``) fetches only what that row's check asks for, when it asks. Both must give the
row the same outcome, findings, notes and cited evidence: a check reads evidence only, and a
probe's evidence never depends on what else the run happened to send before it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conformance.check import CheckRecord, Outcome
from conformance.emulator import EmulatorServer
from conformance.engine import fetch
from conformance.engine.plan import PlannedCheck
from conformance.engine.run import Run, run_all, start
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

BOT = Credentials("visor-bot", Secret("visor-bot-password"), "basic", "password", "test")
CLOUD_BOT = Credentials(
    "visor-bot@example.com", Secret("visor-bot-token"), "basic", "token", "test"
)
SCENARIOS = ["dc-healthy", "mixed-permissions", "cloud", "anonymous-fallback", "read-only-bot"]
# What a row measured (a connect time, a round trip, a read rate) differs between any two runs;
# everything else a note says must not.
MEASURED = re.compile(r"\d+(?:\.\d+)? ?(?:ms|s|issues/s)\b|less than a second|about \d+ \w+")


def target_for(server: EmulatorServer, scenario: str) -> JiraTarget:
    credentials = CLOUD_BOT if scenario == "cloud" else BOT
    settings = Settings(url=server.url, credentials=credentials, concurrency=8, timeout_s=5.0)
    redactor = Redactor()
    redactor.register(credentials.secret)
    return JiraTarget(settings, redactor, load_profile("visor-two-way"))


def judged_alone(server: EmulatorServer, scenario: str, label: str) -> CheckRecord:
    """One row, as ``pytest -k`` runs it: nothing fetched ahead, nothing else judged."""
    target = target_for(server, scenario)
    try:
        run: Run = start(target, fetch.discover_projects(target))
        planned: PlannedCheck = next(p for p in run.plan if p.label == label)
        return run.judge(planned)
    finally:
        target.close()


def seen(record: CheckRecord) -> dict[str, Any]:
    """What a reader of the row sees: outcome, findings, notes and the evidence it cites."""
    return {
        "outcome": record.outcome,
        "findings": [f.as_json() for f in record.findings],
        "notes": [MEASURED.sub("<measured>", note) for note in record.notes],
        "evidence": [
            (ev.probe, ev.ok, [(x.method, x.url, x.status) for x in ev.exchanges])
            for ev in record.evidence
        ],
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_row_fetched_ahead_is_judged_as_the_row_judged_alone(
    jira_emulator: Any, scenario: str
) -> None:
    server: EmulatorServer = jira_emulator(
        scenario, projects=4 if scenario == "dc-healthy" else None
    )
    target = target_for(server, scenario)
    try:
        full = run_all(target)
    finally:
        target.close()
    # A blocked row did not run in the full run; alone, its prerequisite is not judged at all.
    compared = [row for row in full.rows if row.outcome is not Outcome.BLOCKED]
    assert len(compared) > 10
    differ = {
        row.label: (seen(row), seen(alone))
        for row in compared
        if seen(alone := judged_alone(server, scenario, row.label)) != seen(row)
    }
    assert not differ, differ
