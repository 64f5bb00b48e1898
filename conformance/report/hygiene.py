"""Keep secrets and stray environment out of every artefact pytest writes.

pytest and pytest-html leak through many channels (see reference/pytest-html-and-secrets.md):
tracebacks with fixture values, captured output and logs, extras (base64 in self-contained HTML),
and pytest-metadata's Environment table with CI variables. This plugin scrubs each report as it
is logged, before pytest-html, JUnit or the terminal see it, and keeps the metadata to an allowlist.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from conformance.secrets import Redactor

METADATA_ALLOWLIST = frozenset({"Python", "Platform", "Packages", "Plugins"})


def filter_metadata(metadata: dict[str, Any]) -> None:
    for key in list(metadata):
        if key not in METADATA_ALLOWLIST:
            del metadata[key]


class _ScrubFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.redactor.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


class HygienePlugin:
    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._filter = _ScrubFilter(redactor)

    def pytest_sessionstart(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._filter)
        logging.getLogger().addFilter(self._filter)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scrub = self.redactor.scrub
        if report.longrepr is not None:
            text = str(report.longrepr)
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
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover
            return
        metadata = session.config.stash.get(metadata_key, None)
        if metadata is not None:
            filter_metadata(metadata)
