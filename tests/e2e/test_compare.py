"""--jira-compare: support's daily loop, fix something and run again, in all three outputs.

The earlier run is the whole run in-process (its JSON result is only the input here); the run
that compares is the suite, for the terminal, the HTML page and what a refusal writes. Comparing
with another Jira's result: tests/integration/test_compare.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.emulator.world import Grant
from tests.e2e.conftest import RunSuite
from tests.runs import run_checks


def test_a_second_run_says_what_was_fixed_since_the_first(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions")
    # The first run needs write access (two-way): OPS lacks Add Comments.
    first = run_checks(server.url, profile="visor-two-way")
    assert first.ret == 1
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first.result), encoding="utf-8")
    # The Jira administrator grants it in OPS's scheme; the same profile runs again.
    world = server.world
    scheme = world.schemes[world.projects["OPS"].scheme_id]
    scheme.grants.append(Grant("user", "visor-bot", "ADD_COMMENTS"))
    second = run_suite(
        server.url, "--jira-profile", "visor-two-way", "--jira-compare", str(earlier)
    )
    since = second.result["since_last_run"]
    assert since["previous"]["started"] == first.result["run"]["started"]
    assert since["previous"]["tool_version"] == first.result["tool"]["version"]
    fixed = {(c["id"], c["project"], c["code"]) for c in since["fixed"]}
    assert ("permissions.granted", "OPS", "PERM_MISSING") in fixed
    assert since["new"] == []
    assert "Since the last run" in second.stdout
    assert "Since the last run" in second.artefact(".html").read_text("utf-8")


def test_comparing_with_a_run_of_another_profile_is_a_usage_error(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    # Only the profile changes: the rows it decides would read as fixed (issue 24).
    server = jira_emulator("mixed-permissions")
    first = run_checks(server.url, profile="visor-two-way")
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first.result), encoding="utf-8")
    assert first.result["run"]["profile_sha256"]
    server.log.clear()
    second = run_suite(server.url, "--jira-compare", str(earlier))
    assert second.ret == 4
    assert "is a run with the profile visor-two-way" in second.stderr
    assert "this run checks against visor-default" in second.stderr
    assert server.log.entries == []  # refused before anything was sent
    assert not second.report_dir.exists() or not any(second.report_dir.iterdir())  # nor written
