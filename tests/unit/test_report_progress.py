"""Progress, node ids, the write record and the ticket block, without a Jira or a pytest run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conformance import nodeids
from conformance.check import Outcome
from conformance.engine.plan import discover_checks
from conformance.engine.verdict import RunState
from conformance.probes.write import RoundtripFacts
from conformance.report import html, progress, summary, write_record
from tests.unit.report_fixtures import add, add_perm_missing, finished, make_target

CHECKS = Path(nodeids.__file__).parent / "checks"


def test_an_area_completes_with_its_last_row_and_project_areas_wait_for_the_last_project() -> None:
    rows = [
        progress.Row("reachability", None),
        progress.Row("reachability", None),
        progress.Row("permissions", "OPS"),
        progress.Row("import", "OPS"),
        progress.Row("permissions", "MKT"),
        progress.Row("import", "MKT"),
    ]
    model = progress.Progress(rows)
    target = make_target()
    first = model.add(add(target, "reachability.url", Outcome.PASS))
    assert first.areas == []
    done = model.add(add(target, "reachability.dns", Outcome.WARN, findings=("NET_SLOW",)))
    assert [(a.area, a.state, a.tally()) for a in done.areas] == [
        ("reachability", "warn", "1 pass, 1 warn")
    ]
    model.add(add(target, "permissions.granted", Outcome.FAIL, project="OPS"))
    ops = model.add(add(target, "import.search", Outcome.PASS, project="OPS"))
    assert ops.project == "OPS" and model.live() == "Projects: 1 of 2 checked"
    # permissions completes with MKT's row, but waits for MKT's import row: no split block.
    assert model.add(add(target, "permissions.granted", Outcome.PASS, project="MKT")).areas == []
    last = model.add(add(target, "import.search", Outcome.PASS, project="MKT"))
    assert last.project == "MKT"
    assert [(a.area, a.state) for a in last.areas] == [("permissions", "fail"), ("import", "ok")]
    assert model.percent() == 100


def test_the_customer_progress_writes_plain_lines_into_a_pipe() -> None:
    out = io.StringIO()
    view = progress.CustomerProgress(out)
    view.begin("Checking https://jira.example.com for Visor")
    target = make_target()
    add(target, "reachability.url", Outcome.PASS)
    view.progress = progress.Progress([progress.Row("reachability", None)])
    view.judged(target.records[-1])
    view.end()
    assert out.getvalue() == (
        "Checking https://jira.example.com for Visor\n✓ Network              1 pass\n"
    )


def test_marks_fall_back_to_words_where_the_output_cannot_carry_them() -> None:
    assert progress.marks("cp1252") == {"ok": "ok", "fail": "X", "warn": "!"}
    assert progress.marks("utf-8")["ok"] == "\u2713"


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("test_import.py::test_search[OPS]", ("test_import.py", "test_search", "OPS")),
        (
            "conformance/checks/test_import.py::test_search[OPS]",
            ("test_import.py", "test_search", "OPS"),
        ),
        ("test_import::test_search[OPS]", ("test_import.py", "test_search", "OPS")),  # JUnit
        ("test_import.py::test_search", ("test_import.py", "test_search", None)),
        ("test_import.py", ("test_import.py", None, None)),
    ],
)
def test_node_ids_as_printed_become_selections(
    arg: str, expected: tuple[str, str | None, str | None], tmp_path: Path
) -> None:
    kept, (selection,) = nodeids.split_arguments([arg], tmp_path, CHECKS, discover_checks())
    assert kept == []
    assert (selection.module, selection.function, selection.project) == expected
    assert selection.selects("test_import.py", "test_search", "OPS")
    assert not selection.selects("test_permissions.py", "test_search", "OPS")


def test_a_selection_names_the_projects_a_run_needs(tmp_path: Path) -> None:
    specs = discover_checks()
    args = ["test_import.py::test_search[OPS]", "test_bot_account.py::test_identity"]
    _, selections = nodeids.split_arguments(args, tmp_path, CHECKS, specs)
    assert nodeids.project_keys(selections, specs) == ["OPS"]
    _, every = nodeids.split_arguments(["test_import.py"], tmp_path, CHECKS, specs)
    assert nodeids.project_keys(every, specs) is None


@pytest.mark.parametrize(
    ("arg", "words"),
    [
        ("test_import.py::test_serch[OPS]", "has no check 'test_serch'"),
        ("test_nothing.py", "is neither a file nor a check of this suite"),
        ("test_bot_account.py::test_identity[OPS]", "checks the whole instance"),
    ],
)
def test_a_node_id_naming_no_check_is_refused(arg: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(nodeids.SelectionError, match=words):
        nodeids.split_arguments([arg], tmp_path, CHECKS, discover_checks())


def test_a_path_that_exists_outside_the_checks_stays_pytests(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text("", encoding="utf-8")
    kept, selections = nodeids.split_arguments(
        ["test_mine.py::test_x", str(CHECKS)], tmp_path, CHECKS, discover_checks()
    )
    assert kept == ["test_mine.py::test_x"] and selections == []


def _facts(**changes: object) -> RoundtripFacts:
    facts: RoundtripFacts = {
        "project": "OPS",
        "issue_type": "Task",
        "run_label": "visor-run-1",
        "key": "OPS-41",
        "link": "https://jira.example.com/browse/OPS-41",
        "proof": "read",
        "foreign": [],
        "steps": [
            {"step": "create", "outcome": "ok", "detail": "Jira named OPS-41", "status": None},
            {"step": "edit", "outcome": "ok", "detail": "summary", "status": None},
            {"step": "comment", "outcome": "ok", "detail": "", "status": None},
            {"step": "transition", "outcome": "ok", "detail": "Done (id 31)", "status": None},
            {"step": "delete", "outcome": "ok", "detail": "OPS-41", "status": None},
        ],
        "failure": None,
        "mismatches": [],
        "cleanup": {"ok": True, "deleted": ["OPS-41"], "left": [], "links": {}},
        "interrupted": False,
        "signal": None,
        "incomplete": None,
        "deployment": "Data Center",
    }
    facts.update(changes)  # type: ignore[typeddict-item]
    return facts


def test_the_write_record_says_what_was_created_changed_and_deleted() -> None:
    record = write_record.from_facts(_facts())
    assert [(c.sign, c.action, c.key) for c in record.changes] == [
        ("+", "created", "OPS-41"),
        ("~", "changed", "OPS-41"),
        ("-", "deleted", "OPS-41"),
    ]
    assert record.changes[1].detail == "edited summary; added a comment; moved to Done"
    assert record.left == [] and "everything it created was deleted" in record.headline


def test_a_failed_delete_is_in_the_record_with_what_jira_answered() -> None:
    steps = [
        *_facts()["steps"][:-1],
        {
            "step": "delete",
            "outcome": "failed",
            "detail": "OPS-41: 403: You cannot delete issues",
            "status": None,
        },
    ]
    record = write_record.from_facts(
        _facts(steps=steps, cleanup={"ok": False, "left": ["OPS-41"], "deleted": [], "links": {}})
    )
    left = record.changes[-1]
    assert (left.sign, left.action, left.detail) == (
        "!",
        "not deleted",
        "Jira answered 403: You cannot delete issues",
    )
    assert record.left == ["OPS-41"] and "left OPS-41 in Jira" in record.headline
    # The safety net deleted it later: the record says so instead.
    later = write_record.from_facts(_facts(steps=steps), deleted_later=["OPS-41"])
    assert later.changes[-1].sign == "-" and later.left == []


def test_the_ticket_block_starts_with_the_verdict_the_date_and_the_first_fixes() -> None:
    target = make_target()
    for n in range(5):
        add_perm_missing(target, f"P{n}", scheme=f"'Scheme {n}'")
    result = finished(target)
    found = summary.plan(result)
    text = html.ticket_text(result, found, html.instance_facts(result))
    lines = text.splitlines()
    assert lines[0].startswith("Visor readiness check: NOT READY (")
    assert result.started_at.strftime("%Y-%m-%d") in lines[0]
    assert lines[2] == "First fixes:" and lines[3].startswith("1. [PERM_MISSING]")
    assert any(line.startswith("... and ") for line in lines)
    assert "Jira instance URL: https://jira.example.com" in lines


def test_an_interrupted_run_reconciles_its_incomplete_rows_with_what_did_not_run() -> None:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    add(target, "reachability.tcp", Outcome.INCOMPLETE)
    state = RunState(
        interrupted_by="SIGINT",
        required=["reachability.dns", "reachability.tcp", "reachability.jira", "api.server_info"],
    )
    result = finished(target, state)
    assert result.counts["incomplete"] == 1
    assert summary.not_run_text(result) == (
        "3 required checks did not run to completion (1 cut short, 2 not started)"
    )
    assert summary.reasons_text(result.verdict) == "the run was interrupted (SIGINT)"
