"""Every bad input to ``visor-jira-check`` is one sentence, exit 4, before the first request
(issues 13, 14 and 15): the command's own code (``cli.main``) in this process, against a real
local server that counts what it gets. That the sentence is the process's one line on stderr
and its exit code is shown by real processes in tests/e2e/test_inputs.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from tests.e2e.accounts import BOT
from tests.e2e.test_inputs import usage_error
from tests.servers import Counter

CheckCommand = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def check_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CheckCommand:
    """``check_command(*args, env=...)``: ``visor-jira-check ARGS`` as ``cli.main`` runs it, in
    ``tmp_path`` with only ``env`` of the variables a run reads (no Jira settings, no proxy, no
    ~/.netrc), and no terminal; what it returned and printed, as a finished process."""

    def refuse(*_args: object, **_kwargs: object) -> int:
        raise AssertionError("the command went on to run the checks: not a usage error")

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        for name in list(os.environ):
            if name.startswith("JIRA_") or name.upper().endswith("_PROXY"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(pytest, "main", refuse)
        code = cli.main(list(args))
        said = capsys.readouterr()
        return subprocess.CompletedProcess(["visor-jira-check", *args], code, said.out, said.err)

    return run


@pytest.mark.parametrize(
    ("make_args", "words"),
    [
        (lambda t: ["--jira-json", str(t)], "is a folder: give the path of a file to write"),
        (lambda t: ["--jira-json", str(t / "no" / "r.json")], "which does not exist"),
        (lambda t: ["--jira-json", "/dev/full"], "is a device"),
        (
            lambda t: ["--jira-report-dir", str((t / "f").write_text("x") and t / "f")],
            "a file of that name is in the way",
        ),
    ],
    ids=["json-folder", "json-missing-folder", "json-device", "report-dir-is-a-file"],
)
def test_a_bad_output_path_is_exit_4_and_no_request_is_sent(
    check_command: CheckCommand,
    counted: tuple[str, Counter],
    tmp_path: Path,
    make_args: Any,
    words: str,
) -> None:
    url, counter = counted
    result = check_command(url, *make_args(tmp_path), env=BOT)
    usage_error(result, words)
    assert counter.requests == []


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["http://[::1"], {}, "the URL argument 'http://[::1' is not a valid URL"),
        (["http://a..b/"], {}, "the URL argument 'http://a..b/' has an invalid host name"),
        (["http://jira.example.com:0"], {}, "has port 0"),
        ([""], {}, "the URL argument is empty"),
        (["--jira-url", "jira.example.com"], {}, "--jira-url 'jira.example.com' has no scheme"),
        ([], {"JIRA_URL": "jira.example.com"}, "JIRA_URL 'jira.example.com' has no scheme"),
        (
            ["https://jira.example.com/browse/KEY-1"],
            {},
            "points at a Jira page, not at Jira's base URL: use https://jira.example.com ",
        ),
        (["https://a.example", "--jira-url", "https://b.example"], {}, "two different URLs"),
    ],
    ids=["ipv6", "double-dot", "port-0", "empty", "option", "env", "page", "two-urls"],
)
def test_url_errors_name_what_the_user_typed(
    check_command: CheckCommand, tmp_path: Path, args: list[str], env: dict[str, str], words: str
) -> None:
    result = check_command(*args, env=dict(**BOT, **env))
    usage_error(result, words)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {**BOT, "JIRA_PASSWORD": "Canary-pw\nsecond"},
            "The secret from JIRA_PASSWORD contains a line break",
        ),
        ({**BOT, "JIRA_PASSWORD": "Canary-pw€"}, "contains a character outside Latin-1"),
        (
            {"JIRA_USER": "", "JIRA_PASSWORD": "Canary-pw"},
            "JIRA_PASSWORD is set but JIRA_USER is set but empty",
        ),
        ({**BOT, "HTTP_PROXY": "::garbage::"}, "HTTP_PROXY '::garbage::' is not a proxy URL"),
    ],
    ids=["lf-inside", "euro", "empty-user", "garbage-proxy"],
)
def test_secret_and_environment_errors_are_exit_4_and_never_show_the_secret(
    check_command: CheckCommand,
    counted: tuple[str, Counter],
    tmp_path: Path,
    env: dict[str, str],
    words: str,
) -> None:
    url, counter = counted
    result = check_command(url, env=env)
    usage_error(result, words)
    assert "Canary-pw" not in result.stdout + result.stderr
    assert counter.requests == []


@pytest.mark.parametrize("option", ["--jira-secret-file", "--jira-profile", "--jira-compare"])
def test_a_fifo_is_refused_at_once(
    check_command: CheckCommand, counted: tuple[str, Counter], tmp_path: Path, option: str
) -> None:
    url, counter = counted
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = check_command(url, option, str(fifo), env=BOT)
    usage_error(result, "is a named pipe, not an ordinary file")
    assert counter.requests == []


def test_compare_with_a_run_of_another_jira_is_exit_4_naming_both(
    check_command: CheckCommand, counted: tuple[str, Counter], tmp_path: Path
) -> None:
    url, counter = counted
    previous = tmp_path / "previous.json"
    previous.write_text(
        json.dumps(
            {"schema": "visor-jira-conformance/result/v1", "target": {"url": "https://old.example"}}
        )
    )
    result = check_command(url, "--jira-compare", str(previous), env=BOT)
    usage_error(result, f"is a run against https://old.example, not {url}")
    assert counter.requests == []


def test_a_profile_alias_bomb_is_exit_4(
    check_command: CheckCommand, counted: tuple[str, Counter], tmp_path: Path
) -> None:
    url, counter = counted
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("name: bomb\n" + "\n".join(lines) + "\nprojects: *a9\n")
    result = check_command(url, "--jira-profile", str(bomb), env=BOT)
    usage_error(result, "aliases expand to more than")
    assert counter.requests == []
