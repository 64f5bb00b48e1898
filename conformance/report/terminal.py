"""The terminal's last words: the verdict, what to fix first, and where the reports are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance.report import summary

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def verdict_line(target: JiraTarget, paths: dict[str, Path]) -> str:
    verdict = summary.verdict(target)
    shown = [str(p) for kind, p in sorted(paths.items()) if p.exists()]
    word = "READY" if verdict == summary.READY else "NOT READY"
    return f"visor-jira-conformance: {word} for Visor: {target.url} | reports: {', '.join(shown) or 'none'}"


def write_last_line(config: pytest.Config, target: JiraTarget, paths: dict[str, Path]) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    line = target.redactor.scrub(verdict_line(target, paths))
    if reporter is not None:
        ready = summary.verdict(target) == summary.READY
        reporter.write_line(line, green=ready, red=not ready, bold=True)
