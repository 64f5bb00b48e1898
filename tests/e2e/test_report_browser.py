"""The report in a real browser: headless Chromium renders it offline, as a ticket attachment is
opened, and the verdict and a failing row are in the rendered page (not only in the JSON blob)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunSuite
from tests.e2e.test_report_html import hostile_jira
from tests.servers import serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent (apt-get install -y --no-install-recommends chromium)",
)


def chromium(page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def rendered_dom(page: Path, profile: Path) -> str:
    result = chromium(page, profile, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_rendered_report_shows_the_verdict_and_the_failing_row(
    jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    server = jira_emulator("captcha")
    run = run_suite(server.url)
    failing = next(r for r in run.result["results"] if r["outcome"] == "fail")
    page = run.artefact(".html")
    dom = rendered_dom(page, tmp_path / "profile")
    # The verdict is in the static summary; the rows exist only once the page's script ran.
    assert re.search(r'id="vc-verdict"[^>]*>.*?Not ready for Visor', dom, re.S)
    row = re.search(r'<tbody class="results-table-row failed"[^>]*>.*?</tbody>', dom, re.S)
    assert row, "no failed row was rendered"
    assert f'<div class="vc-id">{failing["id"]}</div>' in row[0]
    assert 'class="vc-badge vc-fail">Fail</span>' in row[0]
    assert failing["findings"][0]["code"] in row[0]
    assert "What to change" in row[0]  # the failing row opens to its remediation by default
    shot = tmp_path / "report.png"
    assert chromium(page, tmp_path / "profile", f"--screenshot={shot}").returncode == 0
    assert shot.stat().st_size > 20_000


def test_hostile_jira_markup_renders_as_text_not_elements(
    run_suite: RunSuite, tmp_path: Path
) -> None:
    with serve(hostile_jira()) as url:
        run = run_suite(url)
    dom = rendered_dom(run.artefact(".html"), tmp_path / "profile")
    assert "<tbody" in dom  # the rows were rendered
    assert not re.search(r"<img[^>]*onerror", dom)
    assert not re.search(r"<script>alert", dom)
    assert '&lt;img src=x onerror=alert("jira")&gt;' in dom
