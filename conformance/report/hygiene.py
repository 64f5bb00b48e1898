"""Keep secrets and stray environment out of every artefact pytest writes.

pytest and pytest-html leak through many channels (see docs/secret-channels.md):
tracebacks with fixture values and locals, captured output and logs, extras (base64 in
self-contained HTML), and pytest-metadata's Environment table with CI variables such as
``GIT_URL`` (which may carry credentials) and ``JAVA_HOME``. This plugin scrubs every log record
as it is made, every report as it is logged (before pytest-html, JUnit or the terminal see it),
and keeps the Environment table to an allowlist of escaped values.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

import pytest

from conformance.secrets import MASK, Redactor

# What the Environment table may show: versions of Python, the platform and the plugins. Nothing
# from the environment (CI variables, JAVA_HOME, URLs), nothing from --metadata.
METADATA_ALLOWLIST = frozenset({"Python", "Platform", "Packages", "Plugins"})
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def strip_url_credentials(text: str) -> str:
    """``https://user:secret@host`` becomes ``https://********@host``."""
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)


def _clean_value(value: Any) -> Any:
    """An Environment value as pytest-html may show it: no credentials, HTML escaped (it is
    inserted with innerHTML)."""
    if isinstance(value, dict):
        return {_clean_value(str(k)): _clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(v) for v in value]
    return html.escape(strip_url_credentials(str(value)), quote=True)


def filter_metadata(metadata: dict[str, Any], *, for_html: bool = False) -> None:
    """Drop every key outside the allowlist; for the page, also clean and escape the values."""
    for key in list(metadata):
        if key not in METADATA_ALLOWLIST:
            del metadata[key]
        elif for_html:
            metadata[key] = _clean_value(metadata[key])


STDOUT_CLOSED = (
    "the terminal's output stopped early: its reader closed it (a pipe to head, a closed "
    "terminal); the run went on to the end and its reports are whole"
)


class ScrubbingStream:
    """A text stream that scrubs each write before it reaches ``stream`` (pytest's terminal).

    A reader that goes away (``pytest ... | head -1``, a closed terminal) makes every later
    write fail: from the first failure on, output is dropped and the run goes on (``on_closed``
    is told once); the stream's descriptor is pointed at the null device, so that the
    interpreter's last flush does not fail either."""

    def __init__(
        self, stream: TextIO, redactor: Redactor, on_closed: Callable[[], None] | None = None
    ) -> None:
        self.stream = stream
        self.redactor = redactor
        self.on_closed = on_closed
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                self.stream.write(self.redactor.scrub(text))
            except UnicodeError:
                raise  # the encoding lacks a character: pytest's writer escapes and writes again
            except (OSError, ValueError):  # a reader that went away, a stream closed under us
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self._reader_gone()

    def _reader_gone(self) -> None:
        self.closed_by_reader = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
        if self.on_closed is not None:
            self.on_closed()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno ...
        return getattr(self.stream, name)


def scrub_terminal(
    config: pytest.Config, redactor: Redactor, on_closed: Callable[[], None] | None = None
) -> None:
    """Everything pytest's terminal writes passes the redactor from now on (once per run)."""
    writer = getattr(config.pluginmanager.get_plugin("terminalreporter"), "_tw", None)
    stream = getattr(writer, "_file", None)
    if writer is not None and stream is not None and not isinstance(stream, ScrubbingStream):
        writer._file = ScrubbingStream(stream, redactor, on_closed)


class HygienePlugin:
    def __init__(
        self,
        redactor: Redactor,
        config: pytest.Config | None = None,
        notices: list[str] | None = None,
    ) -> None:
        self.redactor = redactor
        self._config = config
        self._notices = notices  # the run's notices: where a closed terminal is said
        self._previous_factory: Callable[..., logging.LogRecord] | None = None

    # -- logging: scrub each record where it is made, so every handler (pytest's capture, live
    # -- logs, --log-file) only ever sees the clean text.

    def _scrubbing_factory(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        assert self._previous_factory is not None
        record = self._previous_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging to report
            return record
        scrubbed = self.redactor.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return record

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if self._previous_factory is None:
            self._previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._scrubbing_factory)
        if self._config is not None:
            scrub_terminal(self._config, self.redactor, self._terminal_closed)

    def _terminal_closed(self) -> None:
        if self._notices is not None and STDOUT_CLOSED not in self._notices:
            self._notices.append(STDOUT_CLOSED)

    # -- what pytest prints itself: interrupt tracebacks (--full-trace prints every frame's
    # -- arguments, a request's headers among them), collection and internal errors.

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A collection error (with -l, its locals) before JUnit, the page or the terminal."""
        self._scrub_report(report)

    def pytest_internalerror(self, excrepr: Any) -> bool | None:
        """Without pytest's terminal (the customer command), pytest would print the internal
        error to stderr as it is: print it scrubbed instead."""
        if self._terminal_shown:
            return None  # the terminal prints it, through the scrubbing writer
        for line in str(excrepr).split("\n"):
            sys.stderr.write(self.redactor.scrub(f"INTERNALERROR> {line}") + "\n")
        sys.stderr.flush()
        return True

    @property
    def _terminal_shown(self) -> bool:
        return self._config is not None and self._config.pluginmanager.has_plugin(
            "terminalreporter"
        )

    def pytest_unconfigure(self) -> None:
        if self._previous_factory is not None:
            logging.setLogRecordFactory(self._previous_factory)
            self._previous_factory = None

    # -- reports: tracebacks (with -l locals and fixture values), captured output, extras.

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._scrub_report(report)

    def _scrub_report(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        scrub = self.redactor.scrub
        longrepr = report.longrepr
        if isinstance(longrepr, tuple):  # a skip: (path, line, reason) must stay a tuple
            path, line, reason = longrepr
            report.longrepr = (scrub(path), line, scrub(reason))
        elif longrepr is not None:
            text = str(longrepr)
            if scrub(text) != text:
                report.longrepr = scrub(text)
        report.sections = [(scrub(title), scrub(body)) for title, body in report.sections]
        for extra in getattr(report, "extras", []) or []:
            content = extra.get("content")
            if isinstance(content, str):
                extra["content"] = scrub(content)
            elif isinstance(content, dict | list):
                extra["content"] = self.redactor.scrub_obj(content)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Filter again at the end: plugins may add keys after pytest_metadata ran."""
        try:
            from pytest_metadata.plugin import metadata_key  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover
            return
        metadata = session.config.stash.get(metadata_key, None)
        if metadata is not None:
            filter_metadata(metadata, for_html=True)
