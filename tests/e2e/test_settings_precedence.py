"""Settings come from the command line, then the environment, then ini, then defaults; the
report says which, and the packaged checks run from any directory. The words of each bad value
are in tests/unit/test_usage_errors.py."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.conftest import RunSuite
from tests.servers import serve, tiny_jira


def test_command_line_beats_environment_beats_ini(
    run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    with serve(tiny_jira()) as url:
        pytester.makeini(
            f"[pytest]\njira_url = {url}\njira_timeout = 7\njira_concurrency = 3\njira_user = ini-user\n"
        )
        run = run_suite(None, "--jira-timeout", "5")
    sources = run.result["run"]["settings_sources"]
    assert sources["url"] == "ini jira_url"
    assert sources["timeout"] == "--jira-timeout"
    assert sources["concurrency"] == "ini jira_concurrency"
    assert sources["user"] == "env JIRA_USER"  # BOT sets JIRA_USER: the environment beats ini
    assert sources["secret"] == "JIRA_PASSWORD"
    assert sources["deadline"] == "default"
    assert sources["strict"] == "default" and sources["system-trust"] == "default"
    assert "settings: " in run.stdout and f"url = {url} (from ini jira_url)" in run.stdout
    html = run.artefact(".html").read_text(encoding="utf-8")
    assert "timeout = 5 s (from --jira-timeout)" in html
    assert run.outcome("reachability.jira") == "pass"


def test_env_url_collects_only_the_packaged_checks(
    run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_unrelated="def test_customer_project_test():\n    assert False\n")
    with serve(tiny_jira()) as url:
        run = run_suite(
            None,
            env={"JIRA_URL": url, "JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"},
        )
    assert "test_customer_project_test" not in run.stdout
    assert run.result["run"]["settings_sources"]["url"] == "env JIRA_URL"
    ids = {row["id"] for row in run.result["results"]}
    assert {"reachability.dns", "reachability.jira"} <= ids


def test_three_reports_are_written_with_host_and_timestamp(run_suite: RunSuite) -> None:
    with serve(tiny_jira()) as url:
        run = run_suite(url)
    html_file, json_file, xml_file = (run.artefact(s) for s in (".html", ".json", ".xml"))
    assert (
        html_file.name.startswith("127.0.0.1-")
        and html_file.stem == json_file.stem == xml_file.stem
    )
    # <host>-<UTC timestamp>, then (issue 14 item 5) a suffix that makes the name unique per run
    assert re.search(r"-\d{8}T\d{6}(\.\d{3})?Z(-[0-9a-f]{6})?$", html_file.stem), html_file.stem
    suite = ET.parse(xml_file).getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == len(run.result["results"]) and cases
    html = html_file.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", html), (
        "self-contained"
    )
    assert f"Jira readiness for Visor: {url}" in html
    # The closing block lists each report; the last line is the verdict.
    block = run.stdout[run.stdout.rindex("Reports (attach") :]
    assert str(html_file.name) in block and str(json_file.name) in block
    assert str(xml_file.name) in block and "READY" in run.stdout.strip().splitlines()[-1]


def test_xdist_is_turned_off_so_one_latch_guards_the_login(run_suite: RunSuite) -> None:
    with serve(tiny_jira()) as url:
        run = run_suite(url, "-n", "2", env={"JIRA_USER": "visor-bot", "JIRA_PASSWORD": "wrong"})
    assert "-n was ignored: a conformance run is one process, so that the bot logs in once" in (
        run.stdout
    )
    assert "created: 2/2 workers" not in run.stdout
    assert "bringing up nodes" not in run.stdout and "workers [" not in run.stdout  # no xdist
    assert run.result["http"]["failed_logins"] == 1
    assert run.outcome("auth.authenticates") == "fail" and run.ret == 1
