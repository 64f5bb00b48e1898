"""JUnit from the run's one result: pytest's shape, the run's numbers, strict failures, clean XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from conformance.check import Outcome
from conformance.engine.verdict import RunState
from conformance.report import junit
from tests.unit.report_fixtures import PASSWORD, add, finished, make_target


def parsed(text: str) -> ET.Element:
    suite = ET.fromstring(text.encode("utf-8")).find("testsuite")
    assert suite is not None
    return suite


def test_each_row_is_one_test_case_named_by_its_node_id_with_the_runs_counts() -> None:
    target = make_target()
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    root = add(target, "reachability.tcp", Outcome.FAIL, findings=("NET_REFUSED",))
    add(target, "api.server_info", Outcome.BLOCKED, blocked_by=root)
    add(target, "reachability.tls", Outcome.SKIPPED, notes=("the URL uses plain http",))
    suite = parsed(junit.build(finished(target)))
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (f"test_{r.id.replace('.', '_')}", "test_it") for r in target.records
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "NET_REFUSED"
    assert "NET_REFUSED (error)" in (failure.text or "")
    blocked = cases[2].find("skipped")
    assert blocked is not None
    assert blocked.get("message") == "blocked by reachability.tcp (NET_REFUSED)"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"visor.verdict": "not-ready", "visor.exit_code": "1"}


def test_a_strict_run_fails_its_warnings_and_blocked_rows_as_the_verdict_counts_them() -> None:
    target = make_target(strict=True)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    add(target, "reachability.tcp", Outcome.PASS)
    result = finished(target)
    suite = parsed(junit.build(result))
    assert suite.get("failures") == "1" == str(result.strict_blockers)
    (case,) = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert case.find("failure").get("message") == "NET_PLAIN_HTTP"  # type: ignore[union-attr]
    relaxed = make_target(strict=False)
    relaxed.records.extend(target.records)
    assert parsed(junit.build(finished(relaxed))).get("failures") == "0"


def test_an_incomplete_run_says_so_in_its_properties() -> None:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    state = RunState(interrupted_by="SIGTERM", required=["reachability.dns", "auth.login"])
    properties = {
        p.get("name"): p.get("value")
        for p in parsed(junit.build(finished(target, state))).iter("property")
    }
    assert properties["visor.verdict"] == "incomplete"
    assert properties["visor.incomplete"] == "interrupted"
    assert properties["visor.not_run"] == "1"


def test_jira_text_that_xml_cannot_hold_and_the_secret_never_reach_the_file() -> None:
    target = make_target()
    row = add(target, "api.server_info", Outcome.FAIL, findings=("NET_REFUSED",))
    row.findings[0] = replace(
        row.findings[0], summary=f"bell\x07 escape\x1b half\ud83d and {PASSWORD}"
    )
    text = junit.build(finished(target))
    suite = parsed(text)  # parses: no character XML 1.0 forbids
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert "bell\\x07 escape\\x1b" in (failure.text or "")  # as the terminal shows it
    assert PASSWORD not in text
    # What reaches an attribute or a text unshown elsewhere is made XML-safe the same way.
    assert junit.xml_text("bell\x07 escape\x1b half\ud83d") == "bell#x07 escape#x1B half\ufffd"


def test_testcase_names_follow_pytests_junitxml() -> None:
    assert junit.testcase_names("test_import.py::test_search[OPS]") == (
        "test_import",
        "test_search[OPS]",
    )
    assert junit.testcase_names("checks/test_import.py::test_search[OPS]", "ci") == (
        "ci.checks.test_import",
        "test_search[OPS]",
    )
