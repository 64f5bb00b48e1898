"""Which reports a conformance run writes, and where.

The JSON result, the JUnit XML and the HTML page are all ours, written at the session's end from
the run's one result. The HTML page is self-contained wherever it goes: beside the other
reports, or where pytest-html's own ``--html PATH`` says (pytest-html itself then writes
nothing, since its page would need ``assets/style.css`` beside it); ``-p no:html`` means no
page, and the closing block says so. JUnit goes where ``--junitxml PATH`` says, in pytest's own
shape (``report/junit.py``; pytest's junitxml plugin then writes nothing), ``-p no:junitxml``
means none. A run that ends in a usage error writes none of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance.report.files import why_not
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
# up-front check): report kind -> why. Each report is written whole or not at all (atomically),
# so these files are absent; the closing block names them beside the others.
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


def plan_paths(config: pytest.Config, paths: dict[str, Path]) -> dict[str, Path]:
    """The files this run writes, keys "html", "json", "xml": ``paths`` (one stem in the report
    folder) unless ``--html`` or ``--junitxml`` name another; without the key when ``-p no:html``
    or ``-p no:junitxml`` leave that report out. Raises SettingsError (a usage error, before
    anything is sent) for an --html folder that cannot be made or a --css file that is missing."""
    planned = {"json": paths["json"]}
    missing: dict[str, str] = {}
    html = _planned(config, "html", "htmlpath", "--html", paths["html"])
    if html is None:
        missing["html"] = "not written (-p no:html)"
    else:
        planned["html"] = html
        css = [_user_path(name, "--css") for name in getattr(config.option, "css", None) or []]
        for sheet in css:
            if not sheet.is_file():
                raise SettingsError(f"--css {str(sheet)!r} is not a file: give a stylesheet")
        config.stash[EXTRA_CSS_KEY] = css
    xml = _planned(config, "junitxml", "xmlpath", "--junitxml", paths["xml"])
    if xml is None:
        missing["xml"] = "not written (-p no:junitxml)"
    else:
        planned["xml"] = xml
    config.stash[NOT_WRITTEN_KEY] = missing
    return planned


def _planned(
    config: pytest.Config, plugin: str, dest: str, option: str, default: Path
) -> Path | None:
    """Where the report pytest's ``plugin`` makes is written: the path its ``option`` gives,
    else ``default``; None when ``-p no:PLUGIN`` leaves it out. The plugin itself then writes
    nothing (its option is cleared): this run's report is written from its result, and
    pytest-html would write its own page over ours, its stylesheet in a folder beside it."""
    if config.pluginmanager.is_blocked(plugin):
        return None
    given = getattr(config.option, dest, None)
    if not given:
        return default
    path = _user_path(given, option)
    _make_folder(path, option)
    setattr(config.option, dest, None)
    return path


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
    """The hygiene plugin, which scrubs what pytest's own writers (JUnit, the terminal) get."""
    from conformance.report import hygiene

    config.pluginmanager.register(
        hygiene.HygienePlugin(target.redactor, config, target.notices), "conformance-hygiene"
    )


def write_html(config: pytest.Config, result: RunResult, paths: dict[str, Path]) -> None:
    """The HTML page, from the run's one result (nothing was rendered while rows were judged)."""
    from conformance.report import html

    path = paths.get("html")
    if path is not None:
        none: list[Path] = []
        css: list[Path] = config.stash.get(EXTRA_CSS_KEY, none)
        write_whole(config, "html", path, lambda where: html.write_report(result, where, css))


def write_junit(config: pytest.Config, result: RunResult, paths: dict[str, Path]) -> None:
    """The JUnit XML, from the run's one result, in pytest's shape (its suite name and prefix
    options honoured)."""
    from conformance.report import junit

    path = paths.get("xml")
    if path is not None:
        write_whole(
            config,
            "xml",
            path,
            lambda where: junit.write(
                result,
                where,
                suite_name=str(config.getini("junit_suite_name") or "pytest"),
                prefix=getattr(config.option, "junitprefix", None),
            ),
        )


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
