"""What only the suite's own process shows, for the reachability layer's inputs: the report file
a warning reaches, and a bad input as exit 4 with its one sentence on stderr and no result.

The rows and findings of every reachability situation are judged in-process
(tests/integration/test_reachability.py), the words of each usage error in
tests/unit/test_usage_errors.py."""

from __future__ import annotations

from tests.e2e.conftest import RunSuite
from tests.servers import serve, tiny_jira


def test_healthy_plain_http_passes_every_layer_but_warns_about_http(run_suite: RunSuite) -> None:
    with serve(tiny_jira()) as url:
        run = run_suite(url)
    assert run.outcome("reachability.url") == "warn"
    assert run.codes("reachability.url") == {"NET_PLAIN_HTTP"}
    for check in (
        "reachability.dns",
        "reachability.tcp",
        "reachability.jira",
        "reachability.latency",
    ):
        assert run.outcome(check) == "pass", run.outcomes()
    assert run.outcome("reachability.tls") == "skipped"
    html = run.artefact(".html").read_text(encoding="utf-8")
    assert "NET_PLAIN_HTTP" in html and "Serve Jira over https" in html


def test_a_url_with_credentials_is_a_usage_error_that_never_echoes_them(
    run_suite: RunSuite,
) -> None:
    run = run_suite("https://bot:hunter2@jira.example.com")
    assert run.ret == 4
    assert "must not carry credentials" in run.stderr
    assert "hunter2" not in run.stdout + run.stderr
    assert not run.result  # nothing was checked, so no result was written


def test_missing_secret_is_a_usage_error(run_suite: RunSuite) -> None:
    run = run_suite("https://jira.example.com", env={"JIRA_USER": "visor-bot"})
    assert run.ret == 4
    assert "JIRA_PASSWORD" in run.stderr and "AUTH_NO_CREDENTIALS" in run.stderr
