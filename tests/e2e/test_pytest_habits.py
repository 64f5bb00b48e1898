"""pytest habits a support engineer brings (issue 24): node ids passed back, --lf, -x, strict
runs in CI, --html and -p no:html. Each runs the suite in a subprocess as pytest users do."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite
from tests.e2e.test_verdicts import junit_properties

TWO_WAY = ("--jira-profile", "visor-two-way")
CACHE_ON = ("-p", "cacheprovider")  # run_suite turns pytest's cache off; these runs need it


def printed_node_ids(stdout: str) -> list[str]:
    """The node ids pytest printed for failed rows in its short summary."""
    return re.findall(r"^FAILED (\S+::\S+)", stdout, re.M)


def test_a_node_id_the_run_printed_selects_that_row_from_any_directory(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions")
    first = run_suite(server.url, *TWO_WAY, "-rf")
    assert first.ret == 1
    printed = printed_node_ids(first.stdout)
    assert printed, first.stdout[-3000:]
    # JUnit names the same row too (classname and name).
    junit = ET.parse(first.artefact(".xml")).getroot()
    failed = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    assert {f"{c.get('classname')}.py::{c.get('name')}" for c in failed} == set(printed)
    # Passed back, from a directory where no such file exists, each selects its row alone.
    chosen = printed[0]
    server.log.clear()
    again = run_suite(server.url, *TWO_WAY, chosen)
    assert again.ret == 1, again.stdout[-3000:]
    (row,) = [r for r in again.result["results"] if r["outcome"] != "skipped"]
    name = chosen.partition("::")[2]
    assert row["outcome"] == "fail" and name.endswith(f"[{row['project']}]")
    assert f"{chosen} FAILED" in run_suite(server.url, *TWO_WAY, chosen, "-v").stdout
    # The HTML page's "check this row again" command names the same node id.
    page = first.artefact(".html").read_text("utf-8")
    assert f"pytest --jira-url {server.url} &#39;{chosen}&#39;" in page


def test_a_node_id_naming_no_check_is_a_usage_error_that_sends_and_writes_nothing(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")
    for wrong in ("test_import.py::test_serch[OPS]", "test_nothing.py", "nowhere/"):
        run = run_suite(server.url, wrong)
        assert run.ret == 4, (wrong, run.stdout[-2000:])
        assert "ERROR:" in run.stderr and "Traceback" not in run.stderr
        assert server.log.entries == [], wrong
        assert not run.report_dir.exists() or not list(run.report_dir.iterdir()), wrong
        assert run.result == {}


def test_last_failed_reruns_only_what_failed_and_the_cache_holds_no_secret(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    server = jira_emulator("mixed-permissions")
    first = run_suite(server.url, *TWO_WAY, *CACHE_ON)
    failed = {
        f"{r['id']}[{r['project']}]" for r in first.result["results"] if r["outcome"] == "fail"
    }
    assert first.ret == 1 and failed
    second = run_suite(server.url, *TWO_WAY, *CACHE_ON, "--lf")
    assert f"rerun previous {len(failed)} failure" in second.stdout
    judged = {f"{r['id']}[{r['project']}]" for r in second.result["results"]}
    assert judged == failed  # only the rows that failed, judged again
    assert second.result["incomplete"]["reasons"] == ["selection"]
    # --ff runs them first, then the rest.
    third = run_suite(server.url, *TWO_WAY, *CACHE_ON, "--ff")
    rows = third.result["results"]
    assert {f"{r['id']}[{r['project']}]" for r in rows[: len(failed)]} == failed
    assert len(rows) == len(first.result["results"])
    cache = pytester.path / ".pytest_cache"
    text = "\n".join(p.read_text("utf-8", "replace") for p in cache.rglob("*") if p.is_file())
    assert "test_permissions.py::" in text
    assert BOT["JIRA_PASSWORD"] not in text


def test_stopping_at_the_first_failure_is_its_own_reason_everywhere(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("mixed-permissions")
    run = run_suite(server.url, *TWO_WAY, "-x")
    assert run.ret == 1  # a failure was seen: not ready, whatever did not run
    incomplete = run.result["incomplete"]
    assert incomplete["reasons"] == ["stopped"] and incomplete["stopped_by"] == "-x"
    assert "Incomplete: the run stopped at the first failure (-x)." in run.stdout
    assert "selection" not in run.stdout.split("short test summary")[-1]
    page = run.artefact(".html").read_text("utf-8")
    assert "the run stopped at the first failure (-x)" in page
    properties = junit_properties(ET.parse(run.artefact(".xml")).getroot())
    assert properties["visor.stopped_by"] == "-x"


def test_a_strict_run_fails_its_warnings_in_pytest_and_junit_too(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("base-url-mismatch")
    run = run_suite(server.url, "--jira-strict")
    warned = [r for r in run.result["results"] if r["outcome"] == "warn"]
    assert run.ret == 1 and warned
    assert re.search(rf"\b{len(warned)} failed\b", run.stdout), run.stdout[-2000:]
    suite = ET.parse(run.artefact(".xml")).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) == len(warned)
    # Without --jira-strict the same warnings are counted as warnings, not failures.
    relaxed = run_suite(server.url)
    assert relaxed.ret == 0 and " failed" not in relaxed.stdout
    assert re.search(rf"\b{len(warned)} warn\b", relaxed.stdout)
    suite = ET.parse(relaxed.artefact(".xml")).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_html_option_writes_one_self_contained_page_and_the_closing_block_names_it(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url, "--html=my.html")
    page = pytester.path / "my.html"
    assert run.ret == 0 and page.is_file()
    assert not (pytester.path / "assets").exists()  # nothing beside it: attachable alone
    text = page.read_text("utf-8")
    assert "<style>" in text and "<link" not in text and "Ready for Visor" in text
    block = run.stdout[run.stdout.rindex("Reports (attach the HTML report") :]
    assert "my.html" in block
    assert not list(run.report_dir.glob("*.html"))  # one page, where --html said


def test_without_pytest_html_the_run_says_no_page_was_written(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url, "-p", "no:html")
    assert run.ret == 0
    assert not list(run.report_dir.glob("*.html"))
    block = run.stdout[run.stdout.rindex("Reports (attach") :]
    assert "Reports (attach the JSON result to your Visor ticket):" in block
    assert "HTML   not written (-p no:html)" in block
    assert run.artefact(".json").name in block


LOCATIONS = """
import json
from pathlib import Path

import pytest


def pytest_collection_finish(session):
    rows = [
        [item.nodeid, list(item.location), list(pytest.Item.location.func(item))]
        for item in session.items
    ]
    Path("locations.json").write_text(json.dumps(rows))
"""


def test_each_rows_location_is_the_one_pytest_would_give_it(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    """A row's (file, line, name), which pytest prints for skips and failures and plugins read,
    is pytest's own, although its file part is worked out once per module."""
    pytester.makeconftest(LOCATIONS)
    server = jira_emulator("dc-healthy")
    assert run_suite(server.url, "--co", "-q").ret == 0
    rows = json.loads((pytester.path / "locations.json").read_text("utf-8"))
    files = {ours[0] for _, ours, _ in rows}
    assert len(files) > 3 and len(rows) > len(files), rows[:5]
    for nodeid, ours, pytests in rows:
        assert ours == pytests, nodeid
        assert ours[2] == nodeid.partition("::")[2], nodeid
