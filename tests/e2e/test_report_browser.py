"""The report in a real browser: headless Chromium renders it offline, as a ticket attachment is
opened, at a desktop width and a narrow one, and what a person sees is asserted: the verdict, the
first fix, and a failing project's row one click away from the matrix."""

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


def chromium(
    url: str, profile: Path, *mode: str, width: int = 1400, height: int = 1000
) -> subprocess.CompletedProcess[str]:
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
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            *mode,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def rendered_dom(page: Path, profile: Path, width: int = 1400) -> str:
    result = chromium(page.as_uri(), profile, "--dump-dom", width=width)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("width", [1400, 800])
def test_a_person_sees_the_verdict_the_first_fix_and_reaches_a_failing_row(
    width: int, jira_emulator: Any, run_suite: RunSuite, tmp_path: Path
) -> None:
    # The bot sees no project: every project named on the command line fails its checks.
    server = jira_emulator("no-project-access")
    projects = [arg for key in ("VIS", "OPS", "MKT") for arg in ("--jira-project", key)]
    run = run_suite(server.url, *projects)
    assert run.ret == 1
    page = run.artefact(".html")
    dom = rendered_dom(page, tmp_path / "profile", width)
    # The verdict and the first fix, in the order a person reads them.
    verdict = dom.index('id="vc-verdict"')
    assert "Not ready for Visor" in dom[verdict : verdict + 2000]
    first = run.result["groups"][0]
    fix = dom.index('id="vc-fix-1"')
    assert verdict < fix < dom.index('id="vc-matrix"') < dom.index('id="vc-facts"')
    assert first["code"] in dom[fix : fix + 3000]
    # The matrix links a failing project's badge to its row on the page.
    failing = next(r for r in run.result["results"] if r["outcome"] == "fail" and r["project"])
    label = f"{failing['id']}[{failing['project']}]"
    target = "r-" + re.sub(r"[^A-Za-z0-9._-]+", "-", label).rstrip("-")
    matrix = dom[dom.index('id="vc-matrix"') : dom.index("</table>", dom.index('id="vc-matrix"'))]
    assert f'class="vc-badge vc-fail" href="#{target}"' in matrix
    row = re.search(
        rf'<tbody class="vc-o-fail">(?:(?!</tbody>).)*id="{re.escape(target)}"'
        r"(?:(?!</tbody>).)*</tbody>",
        dom,
        re.S,
    )
    assert row, f"no rendered failed row with id {target}"
    assert f"<code>{failing['id']}</code>" in row[0]
    assert failing["findings"][0]["code"] in row[0]
    assert "What to change" in row[0] and "<details open" in row[0]  # open by default
    # The outcome filter is visible, its counts the banner's.
    assert re.search(r'<input[^>]+id="vc-show-fail"', dom)
    # What a person sees first, at this width (look at it: docs/report.png is one of these).
    top = tmp_path / f"top-{width}.png"
    shot = chromium(
        page.as_uri(),
        tmp_path / "profile",
        "--virtual-time-budget=5000",
        f"--screenshot={top}",
        width=width,
    )
    assert shot.returncode == 0 and top.stat().st_size > 50_000


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
