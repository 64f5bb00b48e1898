"""Which reports a conformance run writes, where, and how they are withdrawn.

The JSON result and the HTML page are ours, written at the session's end from the run's one
result. The HTML page is self-contained wherever it goes: beside the other reports, or where
pytest-html's own ``--html PATH`` says (pytest-html itself then writes nothing, since its page
would need ``assets/style.css`` beside it); ``-p no:html`` means no page, and the closing block
says so. JUnit is pytest's own junitxml (``--junitxml PATH`` honoured) with the verdict as
properties; the hygiene plugin scrubs what it receives. A run that ends in a usage error
withdraws them all, so that it leaves no report behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.report.files import atomic_file, why_not
from conformance.settings import SettingsError, user_path

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.target import JiraTarget

# The run's one result, once the run has ended: every writer registered here reads it.
RESULT_KEY = pytest.StashKey["RunResult"]()
# Stylesheets given with pytest-html's --css, appended to the page's own.
EXTRA_CSS_KEY = pytest.StashKey[list[Path]]()
# Why a kind of report is not written ("-p no:html"), for the closing block.
NOT_WRITTEN_KEY = pytest.StashKey[dict[str, str]]()
# The reports that could not be written (a disk that filled, or turned read-only, after the
# up-front check): report kind -> why. Each report is written whole or not at all, so these
# files are absent; the terminal's last words name them and where the others are.
UNWRITTEN_KEY = pytest.StashKey[dict[str, str]]()


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


def plan_paths(config: pytest.Config, paths: dict[str, Path]) -> dict[str, Path]:
    """The files this run writes, keys "html", "json", "xml": ``paths`` (one stem in the report
    folder) unless ``--html`` or ``--junitxml`` name another; without the key when ``-p no:html``
    or ``-p no:junitxml`` leave that report out. Raises SettingsError (a usage error, before
    anything is sent) for an --html folder that cannot be made or a --css file that is missing."""
    manager = config.pluginmanager
    planned = {"json": paths["json"]}
    missing: dict[str, str] = {}
    if manager.is_blocked("html"):
        missing["html"] = "not written (-p no:html)"
    else:
        given = getattr(config.option, "htmlpath", None)
        planned["html"] = _user_path(given, "--html") if given else paths["html"]
        if given:
            _make_folder(planned["html"], "--html")
            # pytest-html would write its own page there after ours, with its stylesheet in
            # an assets folder beside it: this run's page is the one that is attached.
            config.option.htmlpath = None
        css = [_user_path(name, "--css") for name in getattr(config.option, "css", None) or []]
        for sheet in css:
            if not sheet.is_file():
                raise SettingsError(f"--css {str(sheet)!r} is not a file: give a stylesheet")
        config.stash[EXTRA_CSS_KEY] = css
    if manager.is_blocked("junitxml"):
        missing["xml"] = "not written (-p no:junitxml)"
    else:
        given = getattr(config.option, "xmlpath", None)
        planned["xml"] = _user_path(given, "--junitxml") if given else paths["xml"]
        config.option.xmlpath = str(planned["xml"])
    config.stash[NOT_WRITTEN_KEY] = missing
    return planned


def _user_path(given: str, option: str) -> Path:
    return user_path(os.path.expandvars(given), option)


def _make_folder(path: Path, option: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"{option} {str(path)!r}: its folder cannot be created ({exc.strerror or exc}): "
            "give another path"
        ) from None


def register(config: pytest.Config, target: JiraTarget) -> None:
    """The hygiene plugin, which scrubs what pytest's own writers (JUnit, the terminal) get,
    and JUnit written whole or not at all."""
    from conformance.report import hygiene

    notice = usable_local_time()
    if notice is not None:
        target.notices.append(notice)
    config.pluginmanager.register(
        hygiene.HygienePlugin(target.redactor, config, target.notices), "conformance-hygiene"
    )
    config.pluginmanager.register(WholeJunit(config), "conformance-whole-junit")


class _WholeJunit:
    """pytest's JUnit report, written to a temporary file and renamed into place (it opens its
    file and writes into it, which a disk that fills midway leaves as a partial file); an
    OSError is recorded instead of ending the run in an internal error. Mixed into junitxml's
    LogXML (it has no hook for this)."""

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


class WholeJunit:
    """At session start, once junitxml has registered its writer, give it the whole-or-nothing
    write above (re-registered, so that pluggy calls the new method)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        from _pytest.junitxml import xml_key

        junit: Any = self.config.stash.get(xml_key, None)
        if junit is None or isinstance(junit, _WholeJunit):
            return
        manager = self.config.pluginmanager
        name = manager.get_name(junit)
        manager.unregister(junit)
        cls = type(junit)
        junit.__class__ = type(f"Whole{cls.__name__}", (_WholeJunit, cls), {})
        junit._visor_config = self.config
        manager.register(junit, name)


def write_html(config: pytest.Config, result: RunResult, paths: dict[str, Path]) -> None:
    """The HTML page, from the run's one result (nothing was rendered while rows were judged)."""
    from conformance.report import html

    path = paths.get("html")
    if path is not None:
        none: list[Path] = []
        css: list[Path] = config.stash.get(EXTRA_CSS_KEY, none)
        write_whole(config, "html", path, lambda where: html.write_report(result, where, css))


def not_written(config: pytest.Config) -> dict[str, str]:
    """Reports this run leaves out on purpose ("-p no:html"), and those that could not be
    written (a disk that filled or turned read-only), and why."""
    none: dict[str, str] = {}
    on_purpose: dict[str, str] = config.stash.get(NOT_WRITTEN_KEY, none)
    failed: dict[str, str] = config.stash.get(UNWRITTEN_KEY, none)
    missing = dict(on_purpose)
    for kind, why in failed.items():
        missing[kind] = f"could not be written ({why}); nothing partial was left"
    return missing


def withdraw(config: pytest.Config) -> None:
    """JUnit writes nothing at session end (the run ended in a usage error); our own reports
    are written only by a run that ends with a result."""
    from _pytest.junitxml import xml_key

    junit = config.stash.get(xml_key, None)
    if junit is not None:
        del config.stash[xml_key]  # junitxml's own unconfigure then has nothing to do
        if config.pluginmanager.is_registered(junit):
            config.pluginmanager.unregister(junit)


def quiet(config: pytest.Config) -> None:
    """JUnit has written its file: leave out its "generated xml file" line (a path wider than
    the terminal, joined to words); the closing block lists the file on a line of its own."""
    withdraw(config)


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
    if decided.stopped_by:
        xml.add_global_property("visor.stopped_by", decided.stopped_by)
