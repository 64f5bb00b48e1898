"""--jira-compare: support's daily loop, fix something and run again, in all three outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RunSuite


def test_a_second_run_says_what_was_fixed_since_the_first(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions")
    # The first run needs write access (two-way): OPS lacks a write grant, MKT a field.
    first = run_suite(server.url, "--jira-profile", "visor-two-way")
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


def test_comparing_with_a_run_of_another_jira_is_a_usage_error(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    one, other = jira_emulator("dc-healthy"), jira_emulator("dc-healthy")
    first = run_suite(one.url)
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first.result), encoding="utf-8")
    other.log.clear()
    second = run_suite(other.url, "--jira-compare", str(earlier))
    assert second.ret == 4
    said = second.stdout + second.stderr
    assert one.url in said and other.url in said
    assert other.log.entries == []  # nothing sent
