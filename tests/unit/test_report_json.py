"""The JSON result: the verdict and exit code from one decision, incomplete runs described,
written whole even when Jira's text holds half an emoji, and never half-written."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.check import Outcome
from conformance.engine.result import Identity
from conformance.engine.verdict import RunState
from conformance.report import html, json_result
from tests.runs import validated
from tests.unit.report_fixtures import add, finished, make_target

HALF_EMOJI = "cut here \ud83d"


def test_verdict_and_exit_code_come_from_one_decision() -> None:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    result = json_result.build(finished(target))
    validated(result)
    assert (result["verdict"], result["exit_code"]) == ("ready", 0)
    assert "incomplete" not in result
    add(target, "import.fields", Outcome.ERROR, notes=("the check could not complete: KeyError",))
    result = json_result.build(finished(target))
    assert (result["verdict"], result["exit_code"]) == ("not-ready", 3)


def test_an_interrupted_run_is_incomplete_with_what_did_not_run() -> None:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    add(target, "reachability.tcp", Outcome.INCOMPLETE)
    done = finished(
        target,
        RunState(
            interrupted_by="SIGINT",
            required=["reachability.dns", "reachability.tcp", "auth.authenticates"],
        ),
    )
    result = json_result.build(done)
    validated(result)
    assert (result["verdict"], result["exit_code"]) == ("incomplete", 2)
    assert result["incomplete"] == {
        "reasons": ["interrupted"],
        "signal": "SIGINT",
        "not_run": ["reachability.tcp", "auth.authenticates"],
        "not_run_count": 2,
    }
    assert result["summary"]["incomplete"] == 1
    page = html.render_summary(done)
    assert 'data-verdict="incomplete"' in page and "2 required checks did not run" in page


def test_a_lone_surrogate_from_jira_does_not_lose_the_json_or_the_page(tmp_path: Path) -> None:
    target = make_target()
    record = add(target, "api.server_info", Outcome.FAIL, findings=("NET_REFUSED",))
    record.notes.append(HALF_EMOJI)
    done = replace(finished(target), identity=Identity(version=HALF_EMOJI))
    path = tmp_path / "result.json"
    json_result.write(json_result.build(done), path)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["results"][0]["notes"] == ["cut here \ufffd"]
    page = html.render_summary(done) + html.details_html(done, record)
    page.encode("utf-8")
    assert "cut here \ufffd" in page


def test_a_failed_write_keeps_the_earlier_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"earlier": true}\n', encoding="utf-8")

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        json_result.write({"x": Unserialisable()}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"earlier": True}

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        json_result.write({"later": True}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"earlier": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary left behind
