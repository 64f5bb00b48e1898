"""Every bad input to ``visor-jira-check`` is one sentence on stderr and exit 4, before the first
request (issues 13, 14 and 15): a real process, a real local server that counts what it gets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from conformance import options, plugin
from tests.e2e.accounts import BOT
from tests.e2e.test_cli import COMMAND, clean_env, run_command
from tests.servers import serve

SENTENCE_END = "\n"


class Counter:
    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests.append(Request(environ).path)
        return Response("{}", mimetype="application/json")(environ, start_response)


@pytest.fixture
def counted() -> Iterator[tuple[str, Counter]]:
    counter = Counter()
    with serve(counter) as url:
        yield url, counter


def usage_error(result: subprocess.CompletedProcess[str], words: str) -> str:
    """Assert exit 4, one line on stderr holding ``words``, no traceback; return the line."""
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("visor-jira-check: error: "), lines[0]
    assert words in lines[0], lines[0]
    return lines[0]


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
    counted: tuple[str, Counter], tmp_path: Path, make_args: Any, words: str
) -> None:
    url, counter = counted
    result = run_command(tmp_path, url, *make_args(tmp_path), env=clean_env(tmp_path, **BOT))
    usage_error(result, words)
    assert counter.requests == []


def _read_only(folder: Path, command: list[str], env: dict[str, str], cwd: Path) -> Any:
    """Run ``command`` with ``folder`` mounted read-only in a private mount namespace."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
@pytest.mark.parametrize("where", ["working-folder", "report-dir"])
def test_a_read_only_destination_is_exit_4_and_no_request_is_sent(
    counted: tuple[str, Counter], tmp_path: Path, where: str
) -> None:
    url, counter = counted
    folder = tmp_path / "ro"
    folder.mkdir()
    args = [COMMAND, url] + (
        ["--jira-report-dir", str(folder / "out")] if where != "working-folder" else []
    )
    result = _read_only(folder, args, clean_env(tmp_path, **BOT), folder)
    if "mount" in result.stderr and result.returncode != 4:
        pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    line = usage_error(result, "(the file system is read-only)")
    if where == "working-folder":
        assert "the report folder 'reports' (the default, in the current folder)" in line
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
    tmp_path: Path, args: list[str], env: dict[str, str], words: str
) -> None:
    result = run_command(tmp_path, *args, env=clean_env(tmp_path, **BOT, **env))
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
    counted: tuple[str, Counter], tmp_path: Path, env: dict[str, str], words: str
) -> None:
    url, counter = counted
    result = run_command(tmp_path, url, env=clean_env(tmp_path, **env))
    usage_error(result, words)
    assert "Canary-pw" not in result.stdout + result.stderr
    assert counter.requests == []


@pytest.mark.parametrize("option", ["--jira-secret-file", "--jira-profile", "--jira-compare"])
def test_a_fifo_is_refused_at_once(
    counted: tuple[str, Counter], tmp_path: Path, option: str
) -> None:
    url, counter = counted
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_command(tmp_path, url, option, str(fifo), env=clean_env(tmp_path, **BOT))
    usage_error(result, "is a named pipe, not an ordinary file")
    assert counter.requests == []


def test_compare_with_a_run_of_another_jira_is_exit_4_naming_both(
    counted: tuple[str, Counter], tmp_path: Path
) -> None:
    url, counter = counted
    previous = tmp_path / "previous.json"
    previous.write_text(
        json.dumps(
            {"schema": "visor-jira-conformance/result/v1", "target": {"url": "https://old.example"}}
        )
    )
    result = run_command(
        tmp_path, url, "--jira-compare", str(previous), env=clean_env(tmp_path, **BOT)
    )
    usage_error(result, f"is a run against https://old.example, not {url}")
    assert counter.requests == []


def test_a_profile_alias_bomb_is_exit_4(counted: tuple[str, Counter], tmp_path: Path) -> None:
    url, counter = counted
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("name: bomb\n" + "\n".join(lines) + "\nprojects: *a9\n")
    result = run_command(tmp_path, url, "--jira-profile", str(bomb), env=clean_env(tmp_path, **BOT))
    usage_error(result, "aliases expand to more than")
    assert counter.requests == []


# -- the same inputs in pytest mode (the plugin resolves settings with conformance.options) ----

WIRED = getattr(plugin, "resolve_settings", None) is options.resolve_settings
needs_wiring = pytest.mark.skipif(
    not WIRED, reason="plugin.py does not use conformance.options.resolve_settings yet"
)
PASSING_TEST = "def test_would_pass():\n    assert True\n"


def run_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str
) -> pytest.RunResult:
    for name in ("JIRA_URL", "JIRA_USER", "JIRA_PASSWORD", "JIRA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(pytester.path / "no-netrc"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def pytest_usage_error(result: pytest.RunResult, words: str) -> None:
    output = str(result.stdout) + str(result.stderr)
    assert int(result.ret) == 4, output
    assert words in str(result.stderr), output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert "test_would_pass" not in output and "1 passed" not in output, output


@needs_wiring
def test_an_explicitly_empty_jira_url_is_exit_4_not_a_silent_plain_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_folder=PASSING_TEST)
    result = run_pytest(pytester, monkeypatch, "--jira-url", "", **BOT)
    pytest_usage_error(result, "--jira-url is empty")


@needs_wiring
def test_a_set_but_empty_jira_url_is_exit_4(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_folder=PASSING_TEST)
    result = run_pytest(pytester, monkeypatch, JIRA_URL="", **BOT)
    pytest_usage_error(result, "JIRA_URL is set but empty")


def test_without_jira_url_the_folder_tests_still_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_folder=PASSING_TEST)
    result = run_pytest(pytester, monkeypatch)
    assert int(result.ret) == 0
    result.stdout.fnmatch_lines(["*1 passed*"])


@needs_wiring
@pytest.mark.parametrize("case", ["json-folder", "report-dir-is-a-file"])
def test_pytest_mode_checks_outputs_before_any_request(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    counted: tuple[str, Counter],
    case: str,
) -> None:
    url, counter = counted
    if case == "json-folder":
        args = ["--jira-json", str(pytester.path)]
        words = "is a folder"
    else:
        (pytester.path / "taken").write_text("x")
        args = ["--jira-report-dir", str(pytester.path / "taken")]
        words = "a file of that name is in the way"
    result = run_pytest(pytester, monkeypatch, "--jira-url", url, *args, **BOT)
    pytest_usage_error(result, words)
    assert counter.requests == []


@needs_wiring
def test_the_demo_secret_is_reported_as_from_the_demo(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    json_path = pytester.path / "result.json"
    result = run_pytest(pytester, monkeypatch, "--jira-demo", "--jira-json", str(json_path))
    assert int(result.ret) == 0, str(result.stdout)
    sources = json.loads(json_path.read_text())["run"]["settings_sources"]
    assert sources["secret"] == "--jira-demo"
    assert "JIRA_PASSWORD" not in str(result.stdout)
