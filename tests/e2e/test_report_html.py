"""The HTML report from real runs: what a support engineer or a Jira administrator reads.

The page is one static file (no script builds it), so what the checks here read is what the
browser shows.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from tests.e2e.conftest import RunSuite
from tests.servers import json_response, serve

EVIL = '<img src=x onerror=alert("jira")>'
EVIL_SCRIPT = "<script>alert('jira')</script>"
INJECTED = re.compile(r"<img src=x|<script>alert", re.IGNORECASE)


@dataclass
class Page:
    """A report as the browser gets it: the page, and its table's rows."""

    static: str

    @classmethod
    def read(cls, path: Path) -> Page:
        return cls(path.read_text(encoding="utf-8"))

    def rows(self) -> list[dict[str, str]]:
        """Each row of the checks' table: its outcome and its markup (with its expansion)."""
        return [
            {"outcome": m[1], "html": m[2]}
            for m in re.finditer(r"<tbody class=vc-o-(\w+)>(.*?)</tbody>", self.static, re.S)
        ]

    def row(self, check_id: str, project: str | None = None) -> dict[str, str]:
        found = [
            r
            for r in self.rows()
            if f"<code>{check_id}</code>" in r["html"]
            and (project is None or f"<td class=col-project>{project}</td>" in r["html"])
        ]
        assert len(found) == 1, f"{check_id}: {len(found)} rows"
        return found[0]

    def fragments(self) -> str:
        return self.static


def test_failing_report_gives_verdict_facts_fix_first_and_blocked_rows(
    jira_emulator: Any, run_suite: RunSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk")
    monkeypatch.setenv("GIT_URL", "https://ci-user:git-url-secret-55@git.example.com/r.git")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("BUILD_URL", "https://jenkins.example.com/job/7/")
    server = jira_emulator("captcha")
    run = run_suite(server.url)
    assert run.ret == 1
    page = Page.read(run.artefact(".html"))
    top = page.static

    # The verdict at a glance, then the facts of step 2, the vantage point and the fix list.
    assert 'data-verdict="not-ready"' in top and "Not ready for Visor" in top
    for label in (
        "Jira instance URL",
        "Software version",
        "Deployment type",
        "Bot account",
        "Authentication",
    ):
        assert f"<th>{label}</th>" in top
    assert "basic: user and password from JIRA_PASSWORD" in top
    for label in ("Started", "Duration", "Vantage point", "Proxy"):
        assert f"<th>{label}</th>" in top
    assert "visor-jira-conformance 0." in top and "direct (no proxy configured)" in top
    fixes = re.findall(r'<li class="vc-fix vc-fix-error" id="vc-fix-(\d+)">', top)
    assert fixes[0] == "1"
    roots = [r for r in run.result["results"] if r["outcome"] == "fail" and "blocked_by" not in r]
    # One numbered fix per change (the JSON's groups), which name every root-cause check.
    assert len(fixes) == len(run.result["groups"])
    assert {r["id"] for r in roots} == {c for g in run.result["groups"] for c in g["checks"]}
    first_code = roots[0]["findings"][0]["code"]
    first_fix = top[top.index('id="vc-fix-1"') :]
    assert first_fix.index(first_code) < first_fix.index("What to change")
    assert html.escape(roots[0]["findings"][0]["remediation"]) in first_fix

    # Blocked rows say what they wait for and point at the fix; failing rows open to evidence.
    blocked = [r for r in run.result["results"] if r["outcome"] == "blocked"]
    assert blocked, run.outcomes()
    for result in blocked:
        row = page.row(result["id"], result["project"])
        cells = row["html"]
        assert f"Blocked by <b>{result['blocked_by']}</b>" in cells
        assert '<a href="#vc-fix-' in cells
        assert "<i class=vc-blocked>Blocked</i>" in cells
    failing = page.row(roots[0]["id"], roots[0]["project"])["html"]
    assert "<i class=vc-fail>Fail</i>" in failing
    assert 'class="vc-exchange"' in failing and "curl -sS -i" in failing
    assert "$JIRA_PASSWORD" in failing
    assert "<details open>" in failing  # a failing row opens to what to change

    # No environment table: no CI variables, no JAVA_HOME, no credentials anywhere.
    everything = page.fragments()
    for leaked in (
        "JAVA_HOME",
        "java-17",
        "GIT_URL",
        "git-url-secret-55",
        "jenkins.example.com",
        "visor-bot-password",
    ):
        assert leaked not in everything
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'<(link|script)[^>]+(href|src)="(https?:)?//', top)


def hostile_jira() -> Any:
    """A Jira whose answers carry markup: a header, bodies, a display name and a project key."""

    @Request.application
    def app(request: Request) -> Response:
        headers = {"Server": EVIL_SCRIPT, "X-AUSERNAME": "visor-bot"}
        path = request.path
        if path == "/status":
            return json_response({"state": "RUNNING", "note": EVIL}, headers=headers)
        if path.endswith("/serverInfo"):
            info = {
                "baseUrl": f"https://jira.example.com/{EVIL_SCRIPT}",
                "version": "9.12.3",
                "versionNumbers": [9, 12, 3],
                "buildNumber": 912003,
                "deploymentType": "Server",
                "serverTitle": EVIL,
            }
            return json_response(info, headers=headers)
        if path.endswith("/myself"):
            me = {"name": "visor-bot", "key": "visor-bot", "displayName": EVIL, "active": True}
            return json_response(me, headers=headers)
        if path.endswith("/rest/api/2/project"):
            return json_response([{"id": "1", "key": "EVL", "name": EVIL_SCRIPT}], headers=headers)
        return json_response({"errorMessages": [EVIL], "errors": {}}, 404, headers)

    return app


def test_jira_derived_markup_is_escaped_everywhere(run_suite: RunSuite) -> None:
    with serve(hostile_jira()) as url:
        run = run_suite(url)
    page = Page.read(run.artefact(".html"))
    everything = page.fragments()
    assert not INJECTED.search(everything), INJECTED.search(everything)
    # Jinja2's autoescape (markupsafe) writes quotes as numeric references.
    assert "&lt;img src=x onerror=alert(&#34;jira&#34;)&gt;" in everything
    assert "&lt;script&gt;alert(&#39;jira&#39;)&lt;/script&gt;" in everything
