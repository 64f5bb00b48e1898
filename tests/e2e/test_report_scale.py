"""Reports of a big instance: a small page with a project matrix, and a terminal that ends with
the same short block in pytest mode as the customer command prints."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import RunSuite, SuiteRun
from tests.e2e.test_report_html import Page

PROJECTS = 203
SIZE_BAR = 3_000_000  # bytes: issue 13's bar for 203 healthy projects (goal: under 1 MB)


def checks_line(run: SuiteRun) -> str:
    tally = ", ".join(f"{n} {outcome}" for outcome, n in run.result["summary"].items() if n)
    return f"checks: {tally}"


def test_a_203_project_run_writes_one_small_page_with_a_project_matrix(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy", projects=PROJECTS)
    run = run_suite(server.url, timeout=900)
    assert run.ret == 0, run.stdout[-3000:]
    path = run.artefact(".html")
    size = path.stat().st_size
    print(f"\n{PROJECTS} healthy projects: HTML {size:,} bytes, {len(run.result['results'])} rows")
    assert size <= SIZE_BAR
    page = Page.read(path)
    top = page.static
    # One self-contained file: nothing fetched from elsewhere.
    assert not re.search(r'<(link|script|img)[^>]+(href|src)="(https?:)?//', top)
    matrix = top[top.index('id="vc-matrix"') : top.index("</table>", top.index('id="vc-matrix"'))]
    assert len(re.findall(r"<tr><th>P\d{3}</th>", matrix)) == PROJECTS
    assert f"{PROJECTS} projects checked; every one passes." in matrix
    # Every badge links to a row that the page's table renders.
    anchors = set(re.findall(r'href="#(r-[^"]+)"', matrix))
    row_ids = {
        m
        for row in page.rows()
        for m in re.findall(r"id=(r-\S+?)>", "".join(row["resultsTableRow"]))
    }
    assert anchors and anchors <= row_ids
    # Passing rows are compact: no evidence, no exchanges, no log at all.
    passed = [row for row in page.rows() if "vc-pass" in row["outcome"]]
    assert len(passed) > 1000
    assert not any(row.get("log") for row in passed)
    # pytest-html's outcome filter is on the page and not hidden by our stylesheet.
    assert 'class="filter" name="filter_checkbox"' in top
    assert not re.search(r"\.summary__data \.filters[^{]*\{[^}]*display: none", top)
    # The terminal's closing block counts with our words and agrees with the JSON.
    assert checks_line(run) in run.stdout
    assert "READY for Visor" in run.stdout


def test_pytest_mode_ends_with_the_warnings_and_counts_the_report_shows(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("base-url-mismatch")
    run = run_suite(server.url)
    warned = [row for row in run.result["results"] if row["outcome"] == "warn"]
    assert warned, run.outcomes()
    tail = run.stdout[run.stdout.rindex("=" * 80) - 3000 :]
    assert "Warnings (" in tail
    for row in warned:
        for found in row["findings"]:
            assert f"[{found['code']}]" in tail
    assert checks_line(run) in tail
    # The block comes after pytest's own "N passed, M skipped" line, last in the output.
    assert run.stdout.rindex("checks: ") > run.stdout.rindex(" passed")
