"""Every emulator scenario once end to end: ``pytest --jira-demo SCENARIO`` as a user starts it,
judged the same as the whole run in-process (``tests.runs.run_checks``) on which the rows and
findings of every other self-test rely.

The suite's process adds what the engine cannot show: pytest walks the rows in the engine's order
(project by project), names each row's test by its check and project and gives it the row's
outcome, the exit code and the terminal's last line say the verdict of the JSON result, and the
demo takes its accounts, profile and size from the scenario.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conformance.emulator import SCENARIOS
from conformance.emulator.demo import demo_setup
from conformance.engine.plan import discover_checks
from tests.e2e.conftest import RunSuite
from tests.runs import run_checks

# Rows judged by the clock (a round trip over 2 s, a projected import time): on a busy machine
# two runs of the same Jira may differ there, and nowhere else.
MEASURED = {"reachability.latency", "import.throughput"}
# How pytest -v reports each outcome of a row: the suite's own words where pytest has none (so
# that its summary line counts what the closing block counts).
PYTEST_WORD = {
    "pass": "PASSED",
    "warn": "WARN",
    "fail": "FAILED",
    "error": "ERROR",
    "skipped": "SKIPPED",
    "blocked": "BLOCKED",
    "incomplete": "INCOMPLETE",
}
VERDICT_WORD = {"ready": "READY", "not-ready": "NOT READY", "incomplete": "INCOMPLETE"}


def judged(result: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """Each row's outcome and finding codes, the measured rows aside."""
    return {
        f"{row['id']}[{row['project']}]": (row["outcome"], [f["code"] for f in row["findings"]])
        for row in result["results"]
        if row["id"] not in MEASURED
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_suite_judges_every_scenario_as_the_engine_does(
    jira_emulator: Any, run_suite: RunSuite, scenario: str
) -> None:
    run = run_suite(None, "--jira-demo", scenario, "-v", "-p", "no:html", env={})
    server = jira_emulator(scenario, projects=demo_setup(scenario).projects)
    engine = run_checks(server.url, demo=scenario)

    assert judged(run.result) == judged(engine.result)
    assert [*judged(run.result)] == [*judged(engine.result)]  # the rows in the same order
    assert run.result["verdict"] == engine.result["verdict"]
    assert run.ret == run.result["exit_code"] == engine.ret
    assert run.result["http"]["failed_logins"] <= 1
    assert run.result["http"]["mutating_requests"] == 0
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith(f"visor-jira-conformance: {VERDICT_WORD[run.result['verdict']]} for")
    # Each row is a test named by its check (and project), with the row's outcome.
    names = {spec.id: spec.function.__name__ for spec in discover_checks()}
    for row in run.result["results"]:
        # A per-project check without a project to check is one test ([no-visible-project]).
        param = re.escape(f"[{row['project']}]") if row["project"] else r"(\[[a-z-]+\])?"
        said = rf"::{names[row['id']]}{param} {PYTEST_WORD[row['outcome']]}"
        assert re.search(said, run.stdout), (said, row["outcome"])
