"""How a run walks its rows: project by project (docs/architecture.md, "Speed"): a project's
rows need only that project's evidence. The whole run in-process (``tests.runs.run_checks``);
the suite keeps the same order (tests/e2e/test_every_scenario.py)."""

from __future__ import annotations

from typing import Any

from tests.runs import run_checks


def test_the_rows_of_a_project_run_together_in_the_result(jira_emulator: Any) -> None:
    server = jira_emulator("dc-healthy", projects=4)
    run = run_checks(server.url)
    assert run.ret == 0, run.terminal
    order = [row["project"] for row in run.result["results"] if row["project"]]
    projects = list(dict.fromkeys(order))
    assert projects == ["P001", "P002", "P003", "P004"]
    per_project = len(order) // len(projects)
    assert per_project > 1
    # Every project's rows form one block, the blocks in the project list's order.
    assert order == [key for key in projects for _ in range(per_project)]
