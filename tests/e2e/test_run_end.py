"""Issue 23: the end of a run, under what the world does to it there.

SIGTERM while the reports are written, a disk that fills or turns read-only after the up-front
check, Ctrl-C in the last moments, a reader that closes stdout (``| head -1``), a deadline that
passes on a large failing run. Real subprocesses, real signals, a real tmpfs where this process
may mount one (else a file-size limit). What is asserted is what the safety rules promise:
reports whole or absent, the exit code the verdict's, no traceback, the run's own duration
within the deadline plus the per-request timeout.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.emulator import EmulatorServer
from tests.e2e.accounts import BOT
from tests.e2e.test_hostile_round_two import suite_env
from tests.hostile_servers import fill, remount_read_only, tiny_filesystem
from tests.signals import default_signals

Emulator = Callable[..., EmulatorServer]
NO_TRACEBACK = ("Traceback (most recent call last)", "INTERNALERROR", "Exception ignored")


def argv_for(command: str, url: str, *args: str) -> list[str]:
    if command == "pytest":
        return [sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider", *args]
    return [sys.executable, "-m", "conformance.cli", url, *args]


class Suite:
    """A suite subprocess whose output is read line by line as it comes."""

    def __init__(
        self,
        argv: list[str],
        tmp_path: Path,
        *,
        preexec_fn: Callable[[], None] = default_signals,
        head: bool = False,
    ) -> None:
        """``head``: stderr apart, and stdout left to the caller (``| head -1``)."""
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.proc = subprocess.Popen(
            argv,
            cwd=tmp_path,
            env=suite_env(tmp_path, BOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if head else subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=preexec_fn,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        if not head:
            self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            assert self.proc.poll() is None or predicate(), self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.002)

    def finish(self, timeout_s: float = 120) -> int:
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(timeout=10)
        return code

    @property
    def output(self) -> str:
        with self._seen:
            return "".join(self.lines)


def whole_html(path: Path) -> bool:
    return path.read_text(encoding="utf-8").rstrip().endswith("</html>")


def assert_no_traceback(output: str) -> None:
    for marker in NO_TRACEBACK:
        assert marker not in output, output


# -- SIGTERM while the reports are written ----------------------------------------------------------


@pytest.mark.parametrize("command", ["pytest", "visor-jira-check"])
def test_sigterm_while_the_reports_are_written_finishes_them(
    jira_emulator: Emulator, tmp_path: Path, command: str
) -> None:
    """``timeout``, CI cancellation or ``docker stop`` during a large run's reports: SIGTERM
    arrives once the JSON result exists (the page is written after it). Before, a traceback,
    exit 130, no HTML and no --jira-json copy."""
    server = jira_emulator("dc-healthy", projects=150)
    reports, copy = tmp_path / "reports", tmp_path / "result.json"
    suite = Suite(
        argv_for(command, server.url, "--jira-report-dir", str(reports), "--jira-json", str(copy)),
        tmp_path,
    )
    suite.wait_for(lambda: bool(list(reports.glob("*.json"))))
    suite.proc.send_signal(signal.SIGTERM)
    code = suite.finish()
    assert_no_traceback(suite.output)
    result = json.loads(copy.read_text(encoding="utf-8"))
    assert code == result["exit_code"] == 0, suite.output
    (page,) = reports.glob("*.html")
    assert whole_html(page)
    assert len(list(reports.glob("*.xml"))) == 1
    assert not list(reports.glob(".*")), "no temporary file is left"
    if command == "pytest":
        assert "SIGTERM arrived while the run was finishing" in suite.output


# -- a disk that fills up, or turns read-only, after the up-front check -----------------------------


def started(server: EmulatorServer) -> Callable[[], bool]:
    """True once the run has sent its first request: the up-front checks are behind it."""
    return lambda: bool(server.log.entries)


@pytest.mark.parametrize("failure", ["full", "read-only"])
def test_a_disk_that_fails_during_the_run_leaves_whole_reports_or_none(
    jira_emulator: Emulator, tmp_path: Path, failure: str
) -> None:
    server = jira_emulator("dc-healthy", latency_ms=300)
    with tiny_filesystem(512) as disk:
        if disk is None:
            pytest.skip("this process may not mount a tmpfs (the file-size test covers it)")
        suite = Suite(argv_for("pytest", server.url, "--jira-report-dir", str(disk)), tmp_path)
        suite.wait_for(started(server))
        if failure == "full":
            fill(disk, leave_bytes=36 * 1024)  # room for the JSON and JUnit, not for the page
        else:
            remount_read_only(disk)
        code = suite.finish()
        files = sorted(p.name for p in disk.iterdir() if p.name != "filler")
    output = suite.output
    assert_no_traceback(output)
    assert code == 0, output  # the verdict's: READY, whatever the disk did afterwards
    assert output.rstrip().splitlines()[-1].startswith("visor-jira-conformance: READY for Visor")
    assert not [name for name in files if name.startswith(".")], files  # no temporary file
    assert not [name for name in files if name.endswith(".html")], files  # no partial page
    reports = output[output.index("Reports") :]
    if failure == "full":
        assert [Path(n).suffix for n in files] == [".json", ".xml"], files
        assert "HTML   could not be written (the disk is full)" in reports, reports
        assert all(name in reports for name in files), "the others, where they are"
    else:
        assert files == []
        for label in ("HTML", "JSON", "JUnit"):
            assert f"{label} " in reports and "the file system is read-only" in reports, reports


def test_a_file_size_limit_leaves_the_page_unwritten_and_says_so(
    jira_emulator: Emulator, tmp_path: Path
) -> None:
    """Where no tmpfs can be mounted: a file-size limit (RLIMIT_FSIZE) the page exceeds."""
    server = jira_emulator("dc-healthy")
    reports = tmp_path / "reports"

    def limited() -> None:
        default_signals()
        # The JSON result (about 21 KB here) fits, the page (about 29 KB) does not.
        resource.setrlimit(resource.RLIMIT_FSIZE, (24 * 1024, 24 * 1024))

    suite = Suite(
        argv_for("pytest", server.url, "--jira-report-dir", str(reports)),
        tmp_path,
        preexec_fn=limited,
    )
    code = suite.finish()
    assert_no_traceback(suite.output)
    assert code == 0
    assert sorted(p.suffix for p in reports.iterdir()) == [".json", ".xml"]
    assert "HTML   could not be written (the file is larger than this process may write)" in (
        suite.output
    )


# -- Ctrl-C in the last moments, after the verdict is printed ---------------------------------------


def verdict_printed(suite: Suite, command: str) -> Callable[[], bool]:
    if command == "pytest":
        return lambda: any(line.startswith("visor-jira-conformance: ") for line in suite.lines)
    # The customer command ends with its closing block: the rule after the report paths.
    return lambda: (
        any(line.startswith("Reports") for line in suite.lines)
        and suite.lines[-1].startswith("=====")
    )


@pytest.mark.parametrize("command", ["pytest", "visor-jira-check"])
@pytest.mark.parametrize("delay_s", [0.0, 0.003, 0.03])
def test_ctrl_c_after_the_verdict_is_printed_changes_nothing(
    jira_emulator: Emulator, tmp_path: Path, command: str, delay_s: float
) -> None:
    server = jira_emulator("dc-healthy")
    suite = Suite(argv_for(command, server.url, "--jira-report-dir", str(tmp_path / "r")), tmp_path)
    suite.wait_for(verdict_printed(suite, command))
    time.sleep(delay_s)
    if suite.proc.poll() is None:
        suite.proc.send_signal(signal.SIGINT)
    code = suite.finish()
    assert_no_traceback(suite.output)
    assert "KeyboardInterrupt" not in suite.output
    assert code == 0, suite.output


# -- a reader that closes stdout: pytest ... | head -1 ------------------------------------------------


@pytest.mark.parametrize("command", ["pytest", "visor-jira-check"])
def test_a_closed_stdout_is_its_own_stated_reason_and_the_run_goes_on(
    jira_emulator: Emulator, tmp_path: Path, command: str
) -> None:
    server = jira_emulator("dc-healthy", latency_ms=50)
    copy = tmp_path / "result.json"
    reports = tmp_path / "reports"
    argv = argv_for(
        command, server.url, "--jira-report-dir", str(reports), "--jira-json", str(copy)
    )
    if command == "visor-jira-check":
        argv.append("-v")  # pytest's terminal output, as support debugging runs it
    proc = Suite(argv, tmp_path, head=True).proc
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # what `head -1` reads, before it exits
    proc.stdout.close()
    errors = proc.stderr.read()
    code = proc.wait(timeout=180)
    assert first
    assert_no_traceback(errors)
    assert "BrokenPipeError" not in errors
    result = json.loads(copy.read_text(encoding="utf-8"))
    assert code == result["exit_code"] == 0, errors
    assert result["verdict"] == "ready" and "incomplete" not in result
    assert any("its reader closed it" in note for note in result["run"]["notes"])
    (page,) = reports.glob("*.html")
    assert whole_html(page)


# -- the deadline bounds the whole run, on a large failing run ---------------------------------------


def test_the_deadline_bounds_a_large_failing_run_and_its_reports(
    jira_emulator: Emulator, tmp_path: Path
) -> None:
    """400 failing projects (over 3,200 rows): before, every row not judged by the deadline
    still went through pytest and the reports, one by one, to say "incomplete" (a 60 s
    deadline took 72.5 s). Now the rows stop at the deadline, and the run's own duration stays
    within the deadline plus the per-request timeout."""
    deadline_s, timeout_s = 6.0, 2.0
    # At 200 ms an answer, 400 projects' requests (8 at a time) need more than the deadline on
    # any machine: without a latency, a quiet machine finished them all before it.
    server = jira_emulator("read-only-bot", projects=400, broken_projects=400, latency_ms=200)
    reports, copy = tmp_path / "reports", tmp_path / "result.json"
    suite = Suite(
        argv_for(
            "pytest",
            server.url,
            "--jira-profile",
            "visor-two-way",
            "--jira-deadline",
            str(deadline_s),
            "--jira-timeout",
            str(timeout_s),
            "--jira-report-dir",
            str(reports),
            "--jira-json",
            str(copy),
        ),
        tmp_path,
    )
    code = suite.finish(timeout_s=300)
    assert_no_traceback(suite.output)
    result = json.loads(copy.read_text(encoding="utf-8"))
    assert code == result["exit_code"], suite.output
    assert "deadline" in result["incomplete"]["reasons"]
    assert result["incomplete"]["finding"]["code"] == "RUN_DEADLINE"
    # The rows after the deadline were not each judged "incomplete": they are listed as not run.
    incomplete = [r for r in result["results"] if r["outcome"] == "incomplete"]
    assert len(incomplete) <= 8, len(incomplete)
    assert result["incomplete"]["not_run_count"] > 100
    assert result["run"]["duration_s"] <= deadline_s + timeout_s, result["run"]["duration_s"]
    (page,) = reports.glob("*.html")
    assert whole_html(page)
