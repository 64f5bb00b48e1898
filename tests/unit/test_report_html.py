"""The HTML pieces: escaping of Jira-derived text, row details, curl commands, facts."""

from __future__ import annotations

import re
from dataclasses import replace

import jinja2
import markupsafe
import pytest

from conformance.check import Outcome
from conformance.engine.result import Identity
from conformance.report import html
from conformance.secrets import Redactor
from tests.unit.report_fixtures import PASSWORD, add, evidence, exchange, finished, make_target

HOSTILE = "<img src=x onerror=alert(1)>\"'&"


def test_details_escape_every_jira_derived_string_and_keep_the_secret_out() -> None:
    target = make_target()
    record = add(target, "auth.authenticates", Outcome.FAIL, findings=("AUTH_BAD_CREDENTIALS",))
    record.notes.append(f"Jira said {HOSTILE}")
    record.evidence.append(
        evidence(
            exchange(
                url=f"https://jira.example.com/rest/api/2/project/{HOSTILE}",
                headers={"Server": HOSTILE},
                body_excerpt=f'{{"displayName": "{HOSTILE}"}}',
            ),
            displayName=HOSTILE,
        )
    )
    page = html.details_html(finished(target), record)
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert PASSWORD not in page


def test_curl_reproduces_the_request_with_a_placeholder_for_the_secret() -> None:
    page = html.exchange_html(exchange())
    assert "curl -sS -i -u &#34;visor-bot:$JIRA_PASSWORD&#34;" in page
    assert "set JIRA_PASSWORD in your shell first" in page
    bearer = html.exchange_html(exchange(auth_scheme="bearer", user=None))
    assert "Authorization: Bearer $JIRA_TOKEN" in bearer


def test_templates_compile_once_and_each_render_scrubs_with_its_own_redactor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compiled templates are shared between renders (html.COMPILED); what a render masks
    stays its own: a secret one run knows is masked in its page and only there."""
    monkeypatch.setattr(html, "COMPILED", html.CompiledTemplates())
    compiled: list[str | None] = []
    compile_source = jinja2.Environment.compile

    def counting(env: jinja2.Environment, source: str, name: str | None, *args: object) -> object:
        compiled.append(name)
        return compile_source(env, source, name, *args)  # type: ignore[call-overload]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    secrets = ("first-runs-secret", "second-runs-secret")
    answer = exchange(body_excerpt=f"{' '.join(secrets)} {HOSTILE}")
    pages = []
    for secret in secrets:
        redactor = Redactor()
        redactor.register(secret)
        pages.append(html.exchange_html(answer, redactor))
    assert compiled == ["details.html.j2"]  # the second render reused the first one's code
    first, second = pages
    assert "first-runs-secret" not in first and "second-runs-secret" in first
    assert "second-runs-secret" not in second and "first-runs-secret" in second
    assert "&lt;img" in second and "<img" not in second


def test_blocked_row_points_at_the_root_cause_and_its_fix_number() -> None:
    target = make_target()
    root = add(target, "reachability.tcp", Outcome.FAIL, findings=("NET_REFUSED",))
    blocked = add(target, "reachability.jira", Outcome.BLOCKED, blocked_by=root)
    cell = html.finding_cell(finished(target), blocked)
    assert "Blocked by <b>reachability.tcp</b> (NET_REFUSED)" in cell
    assert '<a href="#vc-fix-1">fix #1</a>' in cell
    # The cell says it all: a blocked row opens to nothing more, unless it has notes of its own.
    assert html.details_html(finished(target), blocked) == ""
    blocked.notes.append("waited for the TCP check")
    assert "needs <b>reachability.tcp</b> to pass first" in html.details_html(
        finished(target), blocked
    )


def test_summary_has_verdict_fix_list_warnings_and_facts_in_that_order() -> None:
    target = make_target()
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    add(target, "reachability.tcp", Outcome.FAIL, findings=("NET_REFUSED",))
    identity = Identity(
        version="9.12.3", build_number=912003, deployment_type="Server", bot_display_name=HOSTILE
    )
    page = html.render_summary(replace(finished(target), identity=identity))
    order = [
        page.index(mark)
        for mark in ('id="vc-verdict"', 'id="vc-fix-first"', 'id="vc-warnings"', 'id="vc-facts"')
    ]
    assert order == sorted(order)
    assert 'data-verdict="not-ready"' in page and "Not ready for Visor" in page
    assert "Jira 9.12.3 (build 912003)" in page and "Server" in page
    assert f"{markupsafe.escape(HOSTILE)} (visor-bot)" in page
    assert "basic: user and password from JIRA_PASSWORD" in page
    assert "<img" not in page and PASSWORD not in page
    assert "Advice: these did not fail any check" in page
    assert "Visor works, but" not in page


def test_failing_rows_do_not_call_their_evidence_as_expected() -> None:
    target = make_target()
    failing = add(target, "auth.authenticates", Outcome.FAIL, findings=("AUTH_BAD_CREDENTIALS",))
    read = evidence(exchange(status=200, reason="OK"))
    read = read.__class__(read.probe, True, {}, [], problem=None)
    failing.evidence.append(read)
    page = html.details_html(finished(target), failing)
    assert "as expected" not in page and 'class="vc-evidence-ok">read<' in page
    passing = add(target, "auth.other", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    passing.evidence.append(read)
    assert "as expected" in html.details_html(finished(target), passing)


def test_ready_grammar_and_strict_counts() -> None:
    target = make_target(strict=True)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    page = html.render_summary(finished(target))
    assert "1 warning or blocked row counts as failing." in page
    ready = make_target()
    add(ready, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    assert "1 warning below is worth a look." in html.render_summary(finished(ready))


def test_multi_project_runs_get_a_matrix_whose_badges_link_to_rows() -> None:
    target = make_target()
    for key in ("OPS", "MKT"):
        add(target, "permissions.visible", Outcome.PASS, project=key)
    bad = add(
        target, "permissions.granted", Outcome.FAIL, project="MKT", findings=("PERM_MISSING",)
    )
    add(target, "permissions.granted", Outcome.PASS, project="OPS")
    add(target, "import.search", Outcome.PASS, project="OPS")
    page = html.render_summary(finished(target))
    matrix = page[
        page.index('id="vc-matrix"') : page.index("</table>", page.index('id="vc-matrix"'))
    ]
    rows = matrix_rows(matrix)
    assert [key for key, _ in rows] == ["MKT", "OPS"]  # the project with a problem first
    assert f'<a class="vc-badge vc-fail" href="#{html.anchor(bad)}">Fail</a>' in rows[0][1]
    assert f"id={html.anchor(bad)}>" in html.Renderer(finished(target)).row_cells(bad)[1]
    # A passing project's cells stand for its rows: no link, since the page lists no such row.
    assert '<i class="vc-badge vc-pass">Pass</i>' in rows[1][1] and "href" not in rows[1][1]
    single = make_target()
    add(single, "permissions.granted", Outcome.PASS, project="OPS")
    assert 'id="vc-matrix"' not in html.render_summary(finished(single))


def test_a_matrix_cell_is_skipped_only_when_no_row_of_it_ran() -> None:
    target = make_target()
    for key in ("OPS", "MKT"):
        add(target, "permissions.visible", Outcome.PASS, project=key)
        add(target, "permissions.create_fields", Outcome.SKIPPED, project=key)
        add(target, "import.search", Outcome.SKIPPED, project=key)
    page = html.render_summary(finished(target))
    matrix = page[
        page.index('id="vc-matrix"') : page.index("</table>", page.index('id="vc-matrix"'))
    ]
    rows = dict(matrix_rows(matrix))
    for key in ("OPS", "MKT"):
        badges = re.findall(r'class="vc-badge vc-(\w+)"', rows[key])
        assert badges == ["pass", "skipped"]  # permissions passed; import never ran


def matrix_rows(matrix: str) -> list[tuple[str, str]]:
    """(project, its cells' markup) of each row of the matrix's body."""
    body = matrix[matrix.index("<tbody>") :]
    return re.findall(r"<tr><th>(\w+)(.*?)(?=<tr>|</tbody>)", body, re.S)
