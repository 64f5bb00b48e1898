"""Which report writers a conformance run registers with pytest, and how they are withdrawn.

The HTML report is pytest-html shaped by :mod:`conformance.report.html`; JUnit is pytest's own
junitxml with the verdict as properties; the hygiene plugin scrubs what both receive. A run that
ends in a usage error withdraws them all, so that it leaves no report behind.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.target import JiraTarget

# The run's one result, once the run has ended: every writer registered here reads it.
RESULT_KEY = pytest.StashKey["RunResult"]()


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
        hygiene.HygienePlugin(target.redactor, config), "conformance-hygiene"
    )


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
