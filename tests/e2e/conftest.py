"""End-to-end helpers: run the real suite with pytester in a subprocess and read its artefacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.e2e.accounts import BOT

JIRA_ENV = ("JIRA_URL", "JIRA_USER", "JIRA_PASSWORD", "JIRA_TOKEN", "NETRC")


@dataclass
class SuiteRun:
    """One run of the conformance suite, as a user would see it."""

    ret: int
    stdout: str
    stderr: str
    report_dir: Path
    result: dict[str, Any] = field(default_factory=dict)

    def rows(self, check_id: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        return [
            row
            for row in self.result.get("results", [])
            if (check_id is None or row["id"] == check_id)
            and (project is None or row["project"] == project)
        ]

    def row(self, check_id: str, project: str | None = None) -> dict[str, Any]:
        found = self.rows(check_id, project)
        assert len(found) == 1, (
            f"expected one row {check_id}[{project}], got {len(found)}: {self.outcomes()}"
        )
        return found[0]

    def outcome(self, check_id: str, project: str | None = None) -> str:
        return str(self.row(check_id, project)["outcome"])

    def outcomes(self) -> dict[str, str]:
        return {
            (f"{r['id']}[{r['project']}]" if r["project"] else r["id"]): r["outcome"]
            for r in self.result.get("results", [])
        }

    def codes(self, check_id: str | None = None, project: str | None = None) -> set[str]:
        return {f["code"] for row in self.rows(check_id, project) for f in row["findings"]}

    def artefact(self, suffix: str) -> Path:
        found = sorted(self.report_dir.glob(f"*{suffix}"))
        assert found, f"no *{suffix} in {self.report_dir}: {list(self.report_dir.iterdir())}"
        return found[-1]


RESULT_SCHEMA = json.loads(
    resources.files("conformance.schemas").joinpath("result.schema.json").read_text("utf-8")
)

RunSuite = Callable[..., SuiteRun]


@pytest.fixture
def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RunSuite:
    """``run_suite(url, *pytest_args, env=BOT)``: the suite in a subprocess, like a support engineer runs it."""

    def run(
        url: str | None, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> SuiteRun:
        for name in JIRA_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("NETRC", str(pytester.path / "no-netrc"))
        for name, value in (BOT if env is None else env).items():
            monkeypatch.setenv(name, value)
        report_dir = pytester.path / "reports"
        json_path = pytester.path / "result.json"
        json_path.unlink(missing_ok=True)
        argv = [
            "--jira-json",
            str(json_path),
            "--jira-report-dir",
            str(report_dir),
            "-p",
            "no:cacheprovider",
        ]
        if url is not None:
            argv = ["--jira-url", url, *argv]
        outcome = pytester.runpytest_subprocess(*argv, *args, timeout=timeout)
        run = SuiteRun(
            ret=int(outcome.ret),
            stdout=str(outcome.stdout),
            stderr=str(outcome.stderr),
            report_dir=report_dir,
        )
        if json_path.exists():
            run.result = json.loads(json_path.read_text(encoding="utf-8"))
            # Every result any end-to-end test produces must honour the published schema.
            jsonschema.validate(run.result, RESULT_SCHEMA)
        assert "Traceback (most recent call last)" not in run.stdout + run.stderr, (
            run.stdout + run.stderr
        )
        return run

    return run
