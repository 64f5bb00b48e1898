"""``pytest --jira-demo SCENARIO`` shows the scenario's problem without any set-up: the demos that
used to come out READY (token login, a bucket never emptied, a read-only profile) now do not.

Needs the plugin to take the demo's credentials, profile and project count from
``conformance.emulator.demo.demo_setup``.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import RunSuite

LEAN = ("-p", "no:html")


@pytest.mark.parametrize(
    ("scenario", "code", "verdict"),
    [
        ("basic-auth-disabled", "AUTH_BASIC_DISABLED", "not-ready"),
        ("sso-redirect", "AUTH_SSO_REDIRECT", "not-ready"),
        ("read-only-bot", "PERM_MISSING", "not-ready"),
        ("mixed-permissions", "PERM_REQUIRED_FIELD", "not-ready"),
        ("rate-limited", "RATE_LIMITED", None),
    ],
)
def test_the_demo_shows_its_problem(
    run_suite: RunSuite, scenario: str, code: str, verdict: str | None
) -> None:
    run = run_suite(None, "--jira-demo", scenario, *LEAN, env={})
    assert code in run.codes(), run.outcomes()
    if verdict is not None:
        assert run.result["verdict"] == verdict
    assert run.result["http"]["failed_logins"] <= 1
    assert run.result["http"]["mutating_requests"] == 0


def test_mixed_permissions_demo_names_both_broken_projects(run_suite: RunSuite) -> None:
    run = run_suite(None, "--jira-demo", "mixed-permissions", *LEAN, env={})
    assert "PERM_MISSING" in run.codes(project="OPS"), run.outcomes()
    assert "PERM_REQUIRED_FIELD" in run.codes(project="MKT"), run.outcomes()
    assert not run.codes(project="VIS") & {"PERM_MISSING", "PERM_REQUIRED_FIELD"}
