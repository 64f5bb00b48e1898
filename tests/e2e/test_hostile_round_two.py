"""Issue 23: the whole suite against servers that bend one thing, as support runs it.

Each test asserts what the safety rules promise, counted where it happens: logins refused at the
emulator, the issue left or deleted in the emulator's world, every form of a secret absent from
every artefact, no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request

from conformance.emulator import BOT_USER, EmulatorServer
from tests.bending_proxy import BendingProxy, bending_proxy
from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite
from tests.e2e.test_secret_canaries import NOISY, Artefacts, with_cookie
from tests.servers import serve, tiny_jira

Emulator = Callable[..., EmulatorServer]


# -- never lock the bot: sessions that do not stick ------------------------------------------------


def non_sticky(server: EmulatorServer, *, rotate_after: int | None) -> Any:
    """A load balancer without sticky sessions in front of two nodes: every other request lands
    on the node that does not know the session (the cookie is not honoured there). With
    ``rotate_after``, the bot's password changes after that many requests."""

    def forward(proxy: BendingProxy, seq: int, request: Request, headers: dict[str, str]) -> None:
        if rotate_after is not None and seq == rotate_after:
            server.config.world.users[BOT_USER].password = "rotated-by-the-admin"
        if seq % 2:
            headers.pop("Cookie", None)

    return forward


@pytest.mark.parametrize("password", ["changed", "unchanged"])
def test_sessions_that_do_not_stick_cost_at_most_one_failed_login_and_are_not_anonymous(
    jira_emulator: Emulator, run_suite: RunSuite, password: str
) -> None:
    # 30 projects: the password changes while requests are in flight (before the fix, the
    # suite fell back to the password on all of them: 12 failed logins here, 15-19 in the field).
    server = jira_emulator("dc-healthy", latency_ms=50, projects=30)
    rotate = 40 if password == "changed" else None
    with bending_proxy(server.url) as proxy:
        proxy.forward = non_sticky(server, rotate_after=rotate)
        run = run_suite(proxy.url, "--jira-concurrency", "8", env=BOT)
    assert server.log.failed_logins() <= 1, [
        (e.path, e.status) for e in server.log.entries if e.login_failed
    ]
    assert run.result["http"]["failed_logins"] <= 1
    assert "AUTH_ANONYMOUS" not in run.codes(), run.outcomes()
    if password == "unchanged":
        assert run.result["verdict"] == "ready", run.outcomes()


# -- never a traceback: two JSESSIONID cookies with different paths ---------------------------------

CONTEXT_COOKIE = "ContextPathSession4f2a9c81"
AGENT_COOKIE = "AgentRootSession7b3e1d05"
TWO_SESSIONS = (
    ("Set-Cookie", f"JSESSIONID={AGENT_COOKIE}; Path=/; HttpOnly"),
    ("Set-Cookie", f"JSESSIONID={CONTEXT_COOKIE}; Path=/rest; HttpOnly"),
)


def test_two_session_cookies_with_different_paths_are_no_collection_error(
    run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    """A context path plus an agent at /: each answer sets JSESSIONID twice. Before, requests'
    cookie jar raised CookieConflictError during collection (printed with the cookies under
    -l), and the JSON called the run interrupted by SIGINT."""
    with serve(with_cookie(tiny_jira(), TWO_SESSIONS)) as url:
        run = run_suite(url, *NOISY, env=BOT)
    assert run.outcome("reachability.jira") == "pass"
    assert run.outcome("auth.authenticates") == "pass", run.outcomes()
    assert "SIGINT" not in json.dumps(run.result.get("incomplete")), run.result.get("incomplete")
    assert "error during collection" not in run.stdout
    cookies = {"context cookie": CONTEXT_COOKIE, "agent cookie": AGENT_COOKIE}
    assert Artefacts.of(run, pytester.path).leaks(cookies) == {}
