"""--jira-compare with the result of another Jira is a usage error naming both, before any
request (the command's exit 4 on stderr: tests/e2e/test_inputs.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.settings import SettingsError
from tests.runs import run_checks, settings_for


def test_comparing_with_a_run_of_another_jira_is_a_usage_error(
    jira_emulator: Any, tmp_path: Path
) -> None:
    one, other = jira_emulator("dc-healthy"), jira_emulator("dc-healthy")
    first = run_checks(one.url)
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first.result), encoding="utf-8")
    other.log.clear()
    with pytest.raises(SettingsError) as caught:
        settings_for(other.url, compare=earlier)
    said = str(caught.value)
    assert one.url in said and other.url in said
    assert other.log.entries == []  # nothing sent
