"""Reports of a big instance: a small page with a project matrix, and a terminal that ends with
the same short block in pytest mode as the customer command prints."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import RunSuite, SuiteRun
from tests.e2e.test_report_html import Page

PROJECTS = 203
SIZE_BAR = 1_000_000  # bytes: issue 24's bar for 203 healthy projects (an attachment anywhere)


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
    # One self-contained file: nothing fetched from elsewhere, its stylesheet inside.
    assert not re.search(r'<(link|script|img)[^>]+(href|src)="(https?:)?//', top)
    assert "<link" not in top and "<script" not in top and "<style>" in top
    matrix = top[top.index('id="vc-matrix"') : top.index("</table>", top.index('id="vc-matrix"'))]
    assert len(re.findall(r"<tr><th>P\d{3}<td>", matrix)) == PROJECTS
    assert f"{PROJECTS} projects checked; every one passes." in matrix
    # The projects' passing rows are the matrix's cells, not rows: the table lists the
    # instance's rows only, and its filter counts add up to the banner's.
    rows = page.rows()
    assert rows and all("<td class=col-project></td>" in row["html"] for row in rows)
    instance = [r for r in run.result["results"] if r["project"] is None]
    assert len(rows) == len(instance)
    for outcome, count in run.result["summary"].items():
        if count:
            chip = re.search(
                rf'id="vc-show-{outcome}"[^>]*> <span class="vc-chip vc-{outcome}"><b>(\d+)</b>',
                top,
            )
            assert chip and int(chip[1]) == count, outcome
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
    tail = run.stdout[run.stdout.rindex(" passed") :]  # after pytest's own summary line
    assert "Warnings (" in tail
    for row in warned:
        for found in row["findings"]:
            assert f"[{found['code']}]" in tail
    assert checks_line(run) in tail
    # The block comes after pytest's own "N passed, M skipped" line, last in the output.
    assert run.stdout.rindex("checks: ") > run.stdout.rindex(" passed")
