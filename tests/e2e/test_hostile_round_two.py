"""Issue 23: the whole suite against servers that bend one thing, as support runs it.

Each test asserts what the safety rules promise, counted where it happens: logins refused at the
emulator, the issue left or deleted in the emulator's world, every form of a secret absent from
every artefact, no traceback.
"""

from __future__ import annotations

import base64
import html
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.wrappers import Request, Response

from conformance.emulator import EmulatorServer
from conformance.plugin import CHECKS_DIR
from tests.bending_proxy import BendingProxy, Passed, bending_proxy
from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite
from tests.e2e.test_secret_canaries import COOKIE, NOISY, Artefacts, leaks, with_cookie
from tests.hostile_jira import HANG, HostileJira, Reply, Req, reply_json
from tests.integration.test_login_rotation import (
    ROTATE_AFTER,
    assert_never_locks_the_bot,
    non_sticky,
)
from tests.servers import quoting_proxy, serve, tiny_jira
from tests.signals import default_signals

Emulator = Callable[..., EmulatorServer]
MYSELF = "/rest/api/2/myself"


# -- never lock the bot: sessions that do not stick ------------------------------------------------


def test_the_suite_behind_non_sticky_sessions_fails_one_login_at_most_when_the_password_changes(
    jira_emulator: Emulator, run_suite: RunSuite
) -> None:
    """The suite's process once (both cases, in-process: tests/integration/test_login_rotation.py)."""
    server = jira_emulator("dc-healthy", latency_ms=50, projects=30)
    with bending_proxy(server.url) as proxy:
        proxy.forward = non_sticky(server, rotate_after=ROTATE_AFTER)
        run = run_suite(proxy.url, "--jira-concurrency", "8", env=BOT)
    assert_never_locks_the_bot(server, run, ready=False)


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


# -- never leak: what pytest prints itself passes the redactor ---------------------------------------

SECRET = "Wire-Secret+pw/4711=xQ"  # a password with characters every encoding changes
WIRE_ENV = {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": SECRET}


def suite_env(tmp_path: Path, secret_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "PYTEST_"))}
    env.update(secret_env, NETRC=str(tmp_path / "no-netrc"), PYTHONUNBUFFERED="1")
    return env


@dataclass
class Finished:
    returncode: int
    output: str


def run_until(
    argv: list[str], tmp_path: Path, env: dict[str, str], when: Callable[[], bool], signum: int
) -> Finished:
    """Start ``argv``, send ``signum`` once ``when()`` holds (bounded), wait for the end."""
    out = tmp_path / "output.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            argv,
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=default_signals,
        )
        try:
            deadline = time.monotonic() + 60
            while not when() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            assert when(), out.read_text()
            proc.send_signal(signum)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return Finished(proc.returncode, out.read_text(errors="replace"))


def holding(server: HostileJira, path: str) -> Callable[[], bool]:
    """True once the server holds a credentialed request to ``path`` without answering."""
    return lambda: any(p == path and auth and s == HANG for _, p, auth, s in server.log)


def leaks_of_secret(text: str) -> list[str]:
    return leaks(text, {"password": SECRET, "basic": basic_header(SECRET)})


def basic_header(secret: str) -> str:
    return base64.b64encode(f"visor-bot:{secret}".encode()).decode()


@pytest.mark.parametrize("command", ["pytest", "visor-jira-check"])
def test_ctrl_c_with_full_trace_while_the_login_is_on_the_wire_prints_no_secret(
    tmp_path: Path, command: str
) -> None:
    """``--full-trace`` prints every frame's arguments: the request's headers among them."""
    server = HostileJira({MYSELF: lambda req: HANG if req.authorization else None})
    common = ["--jira-report-dir", str(tmp_path / "reports"), "--full-trace", "-l"]
    if command == "pytest":
        argv = [sys.executable, "-m", "pytest", "--jira-url", server.url, *common]
        argv += ["-p", "no:cacheprovider"]
    else:
        argv = [sys.executable, "-m", "conformance.cli", server.url, *common]
    with server:
        done = run_until(
            argv, tmp_path, suite_env(tmp_path, WIRE_ENV), holding(server, MYSELF), signal.SIGINT
        )
    assert "KeyboardInterrupt" in done.output, done.output
    assert leaks_of_secret(done.output) == [], done.output
    for report in (tmp_path / "reports").glob("*"):
        assert leaks_of_secret(report.read_text(errors="replace")) == [], report.name


BROKEN_COLLECTION = """
import base64, os

def pytest_generate_tests(metafunc):
    header = "Basic " + base64.b64encode(("visor-bot:" + os.environ["JIRA_PASSWORD"]).encode()).decode()
    cookie = os.environ["CANARY_COOKIE"]
    raise ValueError("cannot parametrise")

def test_extra(value):
    pass
"""


def test_a_collection_error_with_locals_prints_no_secret(
    run_suite: RunSuite, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--tb=long -l``: a collection error is printed with its frame's locals, in the terminal,
    JUnit and the page; and pytest stopping itself is not an interrupt by SIGINT."""
    pytester.makepyfile(test_extra=BROKEN_COLLECTION)
    monkeypatch.setenv("CANARY_COOKIE", COOKIE)
    with serve(with_cookie(tiny_jira())) as url:
        run = run_suite(url, str(CHECKS_DIR), "test_extra.py", *NOISY, env=BOT)
    assert "cannot parametrise" in run.stdout and "error during collection" in run.stdout
    assert run.result["incomplete"]["signal"] is None, run.result["incomplete"]
    password = BOT["JIRA_PASSWORD"]
    secrets = {"password": password, "basic": basic_header(password), "cookie": COOKIE}
    assert Artefacts.of(run, pytester.path).leaks(secrets) == {}


# -- never leak: a percent-encoded proxy password ----------------------------------------------------

PROXY_PASSWORD = "Proxy@pw/7:x%y"  # every character a URL must encode in its user info


def test_a_percent_encoded_proxy_password_is_masked_decoded_too(
    run_suite: RunSuite, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy URL carries the password percent-encoded; requests decodes it and sends
    base64(user:password) in Proxy-Authorization; the proxy quotes both in its error page,
    which the report shows. No form of it, encoded or decoded, reaches any artefact."""
    with quoting_proxy() as proxy:
        encoded = quote(PROXY_PASSWORD, safe="")
        monkeypatch.setenv("HTTP_PROXY", proxy.replace("//", f"//proxy-user:{encoded}@"))
        monkeypatch.setenv("NO_PROXY", "")
        run = run_suite("http://jira.example.invalid", *NOISY, env=BOT)
    assert run.result["verdict"] == "not-ready"
    page = run.artefact(".html").read_text()
    assert "502" in page and "credentials:" in html.unescape(page), "the quoted page is shown"
    pair = base64.b64encode(f"proxy-user:{PROXY_PASSWORD}".encode()).decode()
    secrets = {"decoded": PROXY_PASSWORD, "encoded": quote(PROXY_PASSWORD, safe=""), "pair": pair}
    assert Artefacts.of(run, pytester.path).leaks(secrets) == {}


@pytest.mark.parametrize("command", ["pytest", "visor-jira-check"])
@pytest.mark.parametrize(
    "url", ["bot:Url-Secret-81@jira.example.com", "https://bot:Url Secret 81@jira"]
)
def test_a_url_with_credentials_is_a_usage_error_that_does_not_echo_them(
    tmp_path: Path, command: str, url: str
) -> None:
    if command == "pytest":
        argv = [sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider"]
    else:
        argv = [sys.executable, "-m", "conformance.cli", url]
    env = suite_env(tmp_path, BOT)
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "must not carry credentials" in done.stdout + done.stderr
    assert "Secret" not in done.stdout + done.stderr


# -- never a traceback: a user without a home directory -------------------------------------------

NO_PASSWD_ENTRY = """
import os, pwd

_real = pwd.getpwuid


def getpwuid(uid):
    if uid == os.getuid():
        raise KeyError(f"getpwuid(): uid not found: {uid}")
    return _real(uid)


pwd.getpwuid = getpwuid
"""


def homeless_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """A container run with ``--user 54321``: no HOME, and the uid has no passwd entry (the
    test cannot switch to such a uid, so the child's password database says so instead)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NO_PASSWD_ENTRY)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {**keep, "PYTHONPATH": str(site), **extra}


@pytest.mark.parametrize(
    ("command", "extra", "args", "words"),
    [
        ("pytest", {}, [], "no credentials for the bot (AUTH_NO_CREDENTIALS)"),
        ("visor-jira-check", {}, [], "no credentials for the bot (AUTH_NO_CREDENTIALS)"),
        ("pytest", BOT, ["--jira-report-dir", "~/reports"], "has no home directory"),
        ("visor-jira-check", BOT, ["--jira-report-dir", "~/reports"], "has no home directory"),
        ("pytest", BOT, ["--jira-profile", "~/visor.yaml"], "has no home directory"),
    ],
)
def test_a_user_without_a_home_directory_gets_the_usage_sentence(
    tmp_path: Path, command: str, extra: dict[str, str], args: list[str], words: str
) -> None:
    url = "http://127.0.0.1:9"
    if command == "pytest":
        argv = [sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider"]
    else:
        argv = [sys.executable, "-m", "conformance.cli", url]
    env = homeless_env(tmp_path, extra)
    done = subprocess.run(
        [*argv, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert words in output
    assert "Traceback" not in output and "INTERNALERROR" not in output


@pytest.mark.parametrize("option", ["--jira-profile", "--jira-compare"])
def test_a_5000_digit_number_in_an_input_file_is_a_usage_error(tmp_path: Path, option: str) -> None:
    url = "http://127.0.0.1:9"
    big = "9" * 5000
    if option == "--jira-profile":
        text = f"name: x\nprojects: all-visible\nimport:\n  page_size: {big}\n"
    else:
        head = json.dumps({"schema": "visor-jira-conformance/result/v1", "target": {"url": url}})
        head = head[:-1] + ",\n"
        text = head + f'"summary": {{"pass": {big}}}}}\n'
    path = tmp_path / "input"
    path.write_text(text)
    argv = [sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*argv, option, str(path)],
        cwd=tmp_path,
        env=suite_env(tmp_path, BOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "line 4" in output if option == "--jira-profile" else "line 2" in output
    assert "5,000 digits" in output and "INTERNALERROR" not in output


# -- never a traceback: an output encoding that lacks a character of Jira's text -----------------

LOCALISED = "Ошибка: 权限不足 ☃ “quoted”"


def localised_jira() -> HostileJira:
    """Jira answers the import's search in Russian and Chinese, with a snowman and curly quotes:
    text the verdict block quotes."""

    def refuse(req: Req) -> Reply | None:
        if not req.authorization:
            return None
        body = {"errorMessages": [LOCALISED], "errors": {}}
        return reply_json(body, 403, {"X-AUSERNAME": "visor-bot"})

    return HostileJira({"/rest/api/2/search": refuse})


@pytest.mark.parametrize("command", ["visor-jira-check", "pytest"])
@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_the_verdict_is_printed_whatever_the_output_encoding(
    tmp_path: Path, command: str, encoding: str
) -> None:
    result = tmp_path / "result.json"
    common = ["--jira-report-dir", str(tmp_path / "reports"), "--jira-json", str(result)]
    with localised_jira() as server:
        if command == "pytest":
            argv = [sys.executable, "-m", "pytest", "--jira-url", server.url, *common]
            argv += ["-p", "no:cacheprovider"]
        else:
            argv = [sys.executable, "-m", "conformance.cli", server.url, *common]
        env = {**suite_env(tmp_path, BOT), "PYTHONIOENCODING": encoding}
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=180)
    output = (done.stdout + done.stderr).decode(encoding, errors="replace")
    assert "Traceback" not in output and "UnicodeEncodeError" not in output, output
    verdict = json.loads(result.read_text(encoding="utf-8"))
    assert done.returncode == verdict["exit_code"] == 1, output
    assert "NOT READY for Visor" in output
    assert "\\u2603" in output or "☃" in output, "Jira's text is shown, escaped where it must"


# -- never a traceback: a time zone beyond 24 hours -------------------------------------------------


def test_a_time_zone_beyond_24_hours_still_writes_every_report(
    jira_emulator: Emulator, run_suite: RunSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TZ=UTC-24:30 is valid POSIX (24.5 hours east), and Python cannot represent it: JUnit's
    timestamp crashed a READY run (exit 1, no HTML). The reports' times are the run's UTC
    start, so no local time is asked for."""
    server = jira_emulator("dc-healthy")
    monkeypatch.setenv("TZ", "UTC-24:30")
    run = run_suite(server.url, env=BOT)
    assert run.ret == 0 and run.result["verdict"] == "ready", run.stdout[-2000:]
    for suffix in (".html", ".xml", ".json"):
        assert run.artefact(suffix).stat().st_size > 0


# -- always finish: a 60,000-character session cookie -----------------------------------------------

# The chain's answers stay as Jira sends them: a check judges them from their 2,000-character
# excerpt (see the closing note of issue 23), so a longer serverInfo would be called malformed.
CHAIN = ("/status", "/serverInfo", "/myself")
LONG_COOKIE = "=" * 60_000  # one header line of one character that rules and padding use too


def long_session_cookie(proxy: BendingProxy) -> None:
    """A Jira (or an app in front of it) whose session cookie is 60,000 characters long: the
    proxy hands the suite the long value for the emulator's session, and back. Its answers
    carry a run of the same character (a banner, padding), text that every scrub reads."""
    real: list[str] = []

    def bend(proxy: BendingProxy, passed: Passed) -> Response | None:
        headers = dict(passed.headers)
        cookie = headers.pop("Set-Cookie", "")
        if cookie.startswith("JSESSIONID="):
            real.append(cookie.split(";")[0].split("=", 1)[1])
            headers["Set-Cookie"] = f"JSESSIONID={LONG_COOKIE}; Path=/; HttpOnly"
        elif cookie:
            headers["Set-Cookie"] = cookie
        body = passed.json()
        if isinstance(body, dict) and not passed.path.endswith(CHAIN):
            content = json.dumps({**body, "banner": LONG_COOKIE[:3000]}).encode()
        else:
            content = passed.body
        return Response(content, passed.status, headers=headers)

    def forward(proxy: BendingProxy, seq: int, request: Request, headers: dict[str, str]) -> None:
        if LONG_COOKIE in headers.get("Cookie", "") and real:
            headers["Cookie"] = f"JSESSIONID={real[-1]}"

    proxy.bend, proxy.forward = bend, forward


def test_a_60000_character_cookie_keeps_the_run_within_its_deadline(
    jira_emulator: Emulator, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    """Every scrub was quadratic in such a cookie: three projects and --jira-deadline 30 took
    76-112 s. The run's own duration now stays within the deadline plus the timeout, and no
    form of the cookie reaches an artefact."""
    server = jira_emulator("dc-healthy")
    with bending_proxy(server.url) as proxy:
        long_session_cookie(proxy)
        run = run_suite(proxy.url, "--jira-deadline", "30", "--jira-timeout", "5", env=BOT)
    assert run.result["verdict"] == "ready", run.outcomes()
    assert run.result["http"]["session_reused"] > 0, "the long cookie carried the run"
    assert run.result["run"]["duration_s"] <= 35, run.result["run"]["duration_s"]
    artefacts = Artefacts.of(run, pytester.path)
    assert artefacts.leaks({"cookie": LONG_COOKIE}) == {}
    assert all(LONG_COOKIE[:32] not in text for text in artefacts.files.values())
