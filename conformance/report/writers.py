"""Which report writers a conformance run registers with pytest, and how they are withdrawn.

The HTML report is pytest-html shaped by :mod:`conformance.report.html`; JUnit is pytest's own
junitxml with the verdict as properties; the hygiene plugin scrubs what both receive. A run that
ends in a usage error withdraws them all, so that it leaves no report behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.report.files import atomic_file, atomic_write_text, why_not

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.target import JiraTarget

# The run's one result, once the run has ended: every writer registered here reads it.
RESULT_KEY = pytest.StashKey["RunResult"]()
# The reports that could not be written (a disk that filled, or turned read-only, after the
# up-front check): report kind -> why. Each report is written whole or not at all, so these
# files are absent; the terminal's last words name them and where the others are.
UNWRITTEN_KEY = pytest.StashKey[dict[str, str]]()
# What the terminal calls each report kind (the --jira-json copy has its own).
KIND_WORDS = {
    "html": "HTML report",
    "json": "JSON result",
    "json_copy": "--jira-json copy",
    "xml": "JUnit report",
}


def unwritten(config: pytest.Config) -> dict[str, str]:
    """The run's reports that could not be written (made empty when missing)."""
    found = config.stash.get(UNWRITTEN_KEY, None)
    if found is None:
        found = config.stash[UNWRITTEN_KEY] = {}
    return found


def write_whole(
    config: pytest.Config, kind: str, path: Path, write: Callable[[Path], None]
) -> None:
    """``write(path)`` (an atomic writer): an OSError leaves no file and is recorded, never
    raised: the other reports are still written."""
    try:
        write(path)
    except OSError as exc:
        unwritten(config)[kind] = why_not(exc)


class _WholeHtml:
    """pytest-html's report, written whole or not at all: pytest-html opens the file and writes
    into it, which a disk that fills midway leaves as a partial page. Mixed into its report
    plugin's own class (it has no hook for this)."""

    _report_path: Path
    _visor_config: pytest.Config

    def _write_report(self, rendered_report: str) -> None:
        write_whole(
            self._visor_config,
            "html",
            self._report_path,
            lambda path: atomic_write_text(path, rendered_report),
        )

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if "html" not in unwritten(self._visor_config):
            terminalreporter.write_sep("-", f"Generated html report: {self._report_path.as_uri()}")


class _WholeJunit:
    """pytest's JUnit report, written to a temporary file and renamed into place (it opens its
    file and writes into it); an OSError is recorded instead of ending the run in an internal
    error. Mixed into junitxml's LogXML."""

    logfile: str
    _visor_config: pytest.Config

    def pytest_sessionfinish(self) -> None:
        final = self.logfile
        write_junit = super().pytest_sessionfinish  # type: ignore[misc]

        def write(path: Path) -> None:
            with atomic_file(path) as temporary:
                self.logfile = str(temporary)
                try:
                    write_junit()
                finally:
                    self.logfile = final

        write_whole(self._visor_config, "xml", Path(final), write)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if "xml" not in unwritten(self._visor_config):
            terminalreporter.write_sep("-", f"generated xml file: {os.path.abspath(self.logfile)}")


class WholeReports:
    """At session start, once pytest-html and junitxml have registered their writers, give each
    the whole-or-nothing write above (re-registered, so that pluggy calls the new methods)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        from _pytest.junitxml import xml_key

        manager = self.config.pluginmanager
        wanted: list[tuple[Any, type]] = [
            (plugin, _WholeHtml)
            for plugin in manager.get_plugins()
            if type(plugin).__module__.startswith("pytest_html.")
            and hasattr(plugin, "_write_report")
        ]
        junit = self.config.stash.get(xml_key, None)
        if junit is not None:
            wanted.append((junit, _WholeJunit))
        for plugin, mixin in wanted:
            if isinstance(plugin, mixin):
                continue
            name = manager.get_name(plugin)
            manager.unregister(plugin)
            cls = type(plugin)
            plugin.__class__ = type(f"Whole{cls.__name__}", (mixin, cls), {})
            plugin._visor_config = self.config
            manager.register(plugin, name)


def usable_local_time() -> str | None:
    """Make the local time zone one Python can represent, and say so if it was not.

    A valid POSIX TZ such as ``UTC-24:30`` gives an offset beyond 24 hours, which
    ``datetime.astimezone()`` refuses with ValueError: JUnit's timestamp would crash the run
    after its verdict. Such a zone is replaced by UTC for this run (a notice says so).
    """
    try:
        datetime.now().astimezone()
        return None
    except (ValueError, OverflowError, OSError):
        zone = os.environ.get("TZ", "")
        os.environ["TZ"] = "UTC"
        if hasattr(time, "tzset"):
            time.tzset()
        return (
            f"the time zone TZ={zone!r} has an offset Python cannot represent (24 hours or more): "
            "the reports' times are in UTC"
        )


def register(config: pytest.Config, target: JiraTarget, paths: dict[str, Path]) -> None:
    """Point pytest-html and JUnit at the run's report paths (unless given) and hook ours in."""
    from conformance.report import hygiene

    notice = usable_local_time()
    if notice is not None:
        target.notices.append(notice)

    has_html = config.pluginmanager.hasplugin("html")
    if has_html and not config.getoption("htmlpath", None):
        config.option.htmlpath = str(paths["html"])
        config.option.self_contained_html = True
    if not config.getoption("xmlpath", None):
        config.option.xmlpath = str(paths["xml"])
    if has_html:
        from conformance.report import html

        config.option.css = [*getattr(config.option, "css", []), str(html.CSS_PATH)]
        config.pluginmanager.register(html.HtmlReportPlugin(target, config), "conformance-html")
    config.pluginmanager.register(
        hygiene.HygienePlugin(target.redactor, config, target.notices), "conformance-hygiene"
    )
    config.pluginmanager.register(WholeReports(config), "conformance-whole-reports")


def withdraw(config: pytest.Config) -> None:
    """pytest-html and JUnit write nothing at session end (the run ended in a usage error)."""
    from _pytest.junitxml import xml_key

    manager = config.pluginmanager
    writers: list[Any] = [
        p for p in manager.get_plugins() if type(p).__module__.startswith("pytest_html.")
    ]
    junit = config.stash.get(xml_key, None)
    if junit is not None:
        del config.stash[xml_key]  # junitxml's own unconfigure then has nothing to do
        writers.append(junit)
    for writer in writers:
        if manager.is_registered(writer):
            manager.unregister(writer)


def add_junit_verdict(config: pytest.Config, result: RunResult) -> None:
    """The verdict in JUnit too, so that a CI dashboard cannot show green for an incomplete run."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    decided = result.verdict
    xml.add_global_property("visor.verdict", decided.verdict.value)
    xml.add_global_property("visor.exit_code", str(int(decided.exit_code)))
    if decided.reasons:
        xml.add_global_property("visor.incomplete", ", ".join(r.value for r in decided.reasons))
        xml.add_global_property("visor.not_run", str(len(decided.not_run)))
