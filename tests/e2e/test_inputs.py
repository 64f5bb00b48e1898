"""Every bad input to ``visor-jira-check`` is one sentence on stderr and exit 4, before the first
request (issues 13, 14 and 15): a real process, a real local server that counts what it gets.

Here what needs a process: a read-only mount, the command's exit code and stderr, and pytest
mode. The sentence of every bad input is tests/integration/test_command_inputs.py, where the
command's own code (``cli.main``) runs in the test's process."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance import options, plugin
from tests.e2e.accounts import BOT
from tests.e2e.test_cli import COMMAND, clean_env, run_command
from tests.servers import Counter

SENTENCE_END = "\n"


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


def test_a_url_error_is_one_sentence_on_stderr_and_exit_4(tmp_path: Path) -> None:
    """A real process (the URL from the environment); every URL error's sentence is
    tests/integration/test_command_inputs.py."""
    env = clean_env(tmp_path, **BOT, JIRA_URL="jira.example.com")
    result = run_command(tmp_path, env=env)
    usage_error(result, "JIRA_URL 'jira.example.com' has no scheme")
    assert not (tmp_path / "reports").exists()


def test_a_secret_error_is_exit_4_and_never_shows_the_secret(
    counted: tuple[str, Counter], tmp_path: Path
) -> None:
    """A real process; every secret and environment error is in tests/integration too."""
    url, counter = counted
    env = clean_env(tmp_path, **{**BOT, "JIRA_PASSWORD": "Canary-pw\nsecond"})
    result = run_command(tmp_path, url, env=env)
    usage_error(result, "The secret from JIRA_PASSWORD contains a line break")
    assert "Canary-pw" not in result.stdout + result.stderr
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
