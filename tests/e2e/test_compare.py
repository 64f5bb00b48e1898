"""--jira-compare: support's daily loop, fix something and run again, in all three outputs.

The earlier run is the whole run in-process (its JSON result is only the input here); the run
that compares is the suite, for the terminal and the HTML page. Comparing with another Jira's
result is a usage error: tests/integration/test_compare.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RunSuite
from tests.runs import run_checks


def test_a_second_run_says_what_was_fixed_since_the_first(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions")
    # The first run needs write access (two-way): OPS lacks a write grant, MKT a field.
    first = run_checks(server.url, profile="visor-two-way")
    assert first.ret == 1
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first.result), encoding="utf-8")
    # The customer decides to import only (read): what the write needs no longer fails.
    second = run_suite(server.url, "--jira-compare", str(earlier))
    since = second.result["since_last_run"]
    assert since["previous"]["started"] == first.result["run"]["started"]
    assert since["previous"]["tool_version"] == first.result["tool"]["version"]
    fixed = {(c["id"], c["project"], c["code"]) for c in since["fixed"]}
    assert ("permissions.granted", "OPS", "PERM_MISSING") in fixed
    assert since["new"] == [] and since["still_failing"] == []
    assert "Since the last run" in second.stdout
    assert "Since the last run" in second.artefact(".html").read_text("utf-8")
