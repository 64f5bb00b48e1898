"""Secret hygiene, proven: known secrets go in, and no artefact of the run carries any of them.

Each run uses the noisiest settings (``-l``, ``--tb=long``, DEBUG logs, captured output shown for
every test) against passing and failing scenarios, then every artefact (HTML, JSON, JUnit, the
terminal's stdout and stderr, ``.pytest_cache``) is searched for each secret in plain text,
base64 at all three alignments, URL encoding and HTML escaping. The last test plants leaks to
prove that the search itself finds them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conformance.secrets import encoded_forms
from tests.e2e.conftest import RunSuite, SuiteRun
from tests.servers import closed_port, serve, tiny_jira

PASSWORD = "Canary+Pw/7Qx9=Zk&z"
TOKEN = "Canary-Token-Tk93xZ0q"
COOKIE = "CookieCanary9f8e7d6c5b"
PROXY_PASSWORD = "ProxyCanary4711pw"
CI_PASSWORD = "CiCanary2025gitpw"
SECRETS = {
    "password": PASSWORD,
    "token": TOKEN,
    "cookie": COOKIE,
    "proxy": PROXY_PASSWORD,
    "ci": CI_PASSWORD,
}
NOISY = ("-l", "--tb=long", "--log-level=DEBUG", "-rA", "-v")


def forms(secret: str) -> set[str]:
    """Every way the secret could be written: plain, base64 (3 alignments), URL, HTML, JSON."""
    found = encoded_forms(secret)
    return found | {html.escape(f) for f in found} | {html.escape(html.escape(secret))}


def leaks(text: str, secrets: dict[str, str] = SECRETS) -> list[str]:
    """The secrets (by name and form) found in ``text``, also after undoing HTML escaping."""
    candidates = (text, html.unescape(text))
    return sorted(
        f"{name}: {form!r}"
        for name, secret in secrets.items()
        for form in forms(secret)
        if any(form in candidate for candidate in candidates)
    )


@dataclass
class Artefacts:
    files: dict[str, str]

    @classmethod
    def of(cls, run: SuiteRun, root: Path) -> Artefacts:
        files = {"stdout": run.stdout, "stderr": run.stderr}
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix != ".py" and path.name != "no-netrc":
                files[str(path.relative_to(root))] = path.read_text(
                    encoding="utf-8", errors="replace"
                )
        return cls(files)

    def leaks(self, secrets: dict[str, str] = SECRETS) -> dict[str, list[str]]:
        return {name: hits for name, text in self.files.items() if (hits := leaks(text, secrets))}


COOKIE_HEADERS = (
    ("Set-Cookie", f"JSESSIONID={COOKIE}; Path=/; HttpOnly"),
    ("Set-Cookie", f"atlassian.xsrf.token={COOKIE}_lin; Path=/"),
)


def with_cookie(app: Any, cookies: tuple[tuple[str, str], ...] = COOKIE_HEADERS) -> Any:
    """Every answer sets session cookies carrying the cookie canary, as Jira's JSESSIONID does."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            return start_response(status, [*headers, *cookies], *rest)

        return app(environ, start)

    return wrapped


@contextmanager
def cookie_jira() -> Iterator[str]:
    with serve(with_cookie(tiny_jira())) as url:
        yield url


CI_ENV = {
    "GIT_URL": f"https://ci-user:{CI_PASSWORD}@git.example.com/visor.git",
    "JAVA_HOME": "/usr/lib/jvm/java-17-openjdk",
    "CI": "true",
    "HTTPS_PROXY": f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


@dataclass(frozen=True)
class Canary:
    scenario: str
    env: dict[str, str]
    ready: bool
    server_kwargs: dict[str, Any]
    extra_env: dict[str, str]


CANARIES = {
    # The bot's password accepted, with CI variables and a bypassed proxy in the environment.
    "password-passing": Canary(
        "dc-healthy",
        {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD},
        True,
        {"bot_password": PASSWORD},
        CI_ENV,
    ),
    # The same password refused (CAPTCHA): a failing run, findings and rejected exchanges.
    "password-captcha": Canary(
        "captcha",
        {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD},
        False,
        {"bot_password": PASSWORD},
        {},
    ),
    # A personal access token (bearer) accepted.
    "token-passing": Canary("dc-healthy", {"JIRA_TOKEN": TOKEN}, True, {"bot_token": TOKEN}, {}),
    # A token Jira does not know: 401.
    "token-rejected": Canary("dc-healthy", {"JIRA_TOKEN": TOKEN}, False, {}, {}),
}


@pytest.mark.parametrize("name", list(CANARIES), ids=list(CANARIES))
def test_emulator_runs_leak_no_secret(
    name: str,
    jira_emulator: Any,
    run_suite: RunSuite,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canary = CANARIES[name]
    for key, value in canary.extra_env.items():
        monkeypatch.setenv(key, value)
    server = jira_emulator(canary.scenario, **canary.server_kwargs)
    # One run keeps pytest's cache on, so that .pytest_cache is searched too.
    cache = ("-p", "cacheprovider") if name == "password-captcha" else ()
    run = run_suite(server.url, *NOISY, *cache, env=canary.env)
    assert (run.result["verdict"] == "ready") is canary.ready, run.outcomes()
    artefacts = Artefacts.of(run, pytester.path)
    assert any(n.endswith(".html") for n in artefacts.files)
    assert any(n.endswith(".xml") for n in artefacts.files)
    if cache:
        assert any(".pytest_cache" in n for n in artefacts.files), sorted(artefacts.files)
    assert artefacts.leaks() == {}


def test_proxy_credentials_leak_nowhere_when_the_proxy_fails(
    jira_emulator: Any,
    run_suite: RunSuite,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = jira_emulator("dc-healthy", bot_password=PASSWORD)
    with closed_port() as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{port}")
        monkeypatch.setenv("NO_PROXY", "")
        run = run_suite(
            server.url, *NOISY, env={"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD}
        )
    assert run.result["verdict"] == "not-ready"
    assert run.result["run"]["proxy"].startswith("http://127.0.0.1:")
    assert Artefacts.of(run, pytester.path).leaks() == {}


def test_session_cookies_leak_nowhere(run_suite: RunSuite, pytester: pytest.Pytester) -> None:
    with cookie_jira() as url:
        run = run_suite(url, *NOISY, env={"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD})
    assert run.outcome("reachability.jira") == "pass"
    assert Artefacts.of(run, pytester.path).leaks() == {}


def test_the_search_finds_planted_leaks_in_every_encoding() -> None:
    """The canary can fail: each kind of leak, planted in an artefact, is found."""
    basic = base64.b64encode(f"visor-bot:{PASSWORD}".encode()).decode()
    for shift in range(3):
        padded = base64.b64encode(b"x" * shift + TOKEN.encode()).decode()
        assert leaks(f'<a href="data:text/plain;base64,{padded}">'), shift
    planted = {
        "header": f"Authorization: Basic {basic}",
        "url": f"GET /rest?password={quote(PASSWORD, safe='')}",
        "html": f"<td>{html.escape(PASSWORD)}</td>",
        "blob": f'data-jsonblob="{html.escape(html.escape(PASSWORD))}"',
        "cookie": f"Cookie: JSESSIONID={COOKIE}",
        "proxy": f"via http://proxy-user:{PROXY_PASSWORD}@proxy",
        "ci": f"GIT_URL https://ci-user:{CI_PASSWORD}@git",
    }
    for where, text in planted.items():
        assert leaks(text), where
    assert leaks("nothing secret here, visor-bot, Basic dmlzb3ItYm90") == []
