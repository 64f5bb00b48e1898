"""The HTML pieces: escaping of Jira-derived text, row details, curl commands, facts."""

from __future__ import annotations

from conformance.check import Outcome
from conformance.report import html
from tests.unit.report_fixtures import PASSWORD, add, evidence, exchange, make_target

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
    page = html.details_html(target, record)
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert PASSWORD not in page


def test_curl_reproduces_the_request_with_a_placeholder_for_the_secret() -> None:
    page = html.exchange_html(exchange())
    assert "curl -sS -i -u &quot;visor-bot:$JIRA_PASSWORD&quot;" in page
    assert "set JIRA_PASSWORD in your shell first" in page
    bearer = html.exchange_html(exchange(auth_scheme="bearer", user=None))
    assert "Authorization: Bearer $JIRA_TOKEN" in bearer


def test_blocked_row_points_at_the_root_cause_and_its_fix_number() -> None:
    target = make_target()
    root = add(target, "reachability.tcp", Outcome.FAIL, findings=("NET_REFUSED",))
    blocked = add(target, "reachability.jira", Outcome.BLOCKED, blocked_by=root)
    cell = html.finding_cell(target, blocked)
    assert "Blocked by <b>reachability.tcp</b> (NET_REFUSED)" in cell
    assert '<a href="#vc-fix-1">fix #1</a>' in cell
    assert "needs <b>reachability.tcp</b> to pass first" in html.details_html(target, blocked)


def test_summary_has_verdict_facts_fix_list_and_warnings_in_that_order() -> None:
    target = make_target()
    target.identity.update(
        version="9.12.3", buildNumber=912003, deploymentType="Server", botDisplayName=HOSTILE
    )
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    add(target, "reachability.tcp", Outcome.FAIL, findings=("NET_REFUSED",))
    page = html.render_summary(target)
    order = [
        page.index(mark)
        for mark in ('id="vc-verdict"', 'id="vc-facts"', 'id="vc-fix-first"', 'id="vc-warnings"')
    ]
    assert order == sorted(order)
    assert 'data-verdict="not-ready"' in page and "Not ready for Visor" in page
    assert "Jira 9.12.3 (build 912003)" in page and "Server" in page
    assert f"{html.esc(HOSTILE)} (visor-bot)" in page
    assert "basic: user and password from JIRA_PASSWORD" in page
    assert "<img" not in page and PASSWORD not in page


def test_log_safe_keeps_pytest_html_from_painting_lines_red() -> None:
    assert html.log_safe("<pre>a\nExpires: x</pre>") == "<pre>a\n&#69;xpires: x</pre>"
