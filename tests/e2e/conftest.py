"""End-to-end helpers: run the real suite with pytester in a subprocess and read its artefacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.accounts import BOT
from tests.runs import JIRA_ENV, JsonRun, validated


@dataclass
class SuiteRun(JsonRun):
    """One run of the conformance suite, as a user would see it."""

    stdout: str = ""
    stderr: str = ""
    report_dir: Path = Path("reports")

    def artefact(self, suffix: str) -> Path:
        found = sorted(self.report_dir.glob(f"*{suffix}"))
        assert found, f"no *{suffix} in {self.report_dir}: {list(self.report_dir.iterdir())}"
        return found[-1]


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
            run.result = validated(json.loads(json_path.read_text(encoding="utf-8")))
        assert "Traceback (most recent call last)" not in run.stdout + run.stderr, (
            run.stdout + run.stderr
        )
        return run

    return run
