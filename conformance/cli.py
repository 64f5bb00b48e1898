"""``visor-jira-check URL [options]``: the customer command.

It runs the same checks as ``pytest --jira-url URL``, with the same ``--jira-*`` options, but
asks for the bot's user name and secret (without echo) when they are not in the environment,
keeps pytest's own output short, and ends with the verdict, the numbered "fix these first" list
and the paths of the reports. Exit codes as DESIGN.md: 0 ready, 1 not ready, 3 a check could not
complete, 4 usage error (including missing credentials when nobody can be asked).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance import __version__, plugin
from conformance.options import OPTIONS
from conformance.report import terminal
from conformance.settings import (
    MISSING_CREDENTIALS,
    SettingsError,
    resolve_credentials,
    validate_url,
)
from conformance.target import JiraTarget

PROG = "visor-jira-check"
USAGE_ERROR = int(pytest.ExitCode.USAGE_ERROR)
# pytest's own output, kept short: progress dots and one summary line; the verdict block follows.
QUIET_PYTEST_ARGS = ("-q", "--tb=no", "-rN", "-p", "no:cacheprovider")


def build_parser() -> argparse.ArgumentParser:
    """The command line: the URL plus every ``--jira-*`` option the pytest plugin knows."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check that a Jira meets every requirement of the Visor integration. The bot's "
        "secret comes from JIRA_PASSWORD or JIRA_TOKEN, --jira-secret-file, ~/.netrc, or a prompt; "
        "never from the command line.",
        epilog="Other arguments are passed to pytest. Exit codes: 0 ready, 1 not ready, "
        "3 a check could not complete, 4 usage error.",
    )
    parser.add_argument(
        "url", nargs="?", help="base URL of Jira, context path included [env JIRA_URL]"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    for name, env, _type, help_text in OPTIONS:
        if name == "url":
            continue
        suffix = f" [env {env}]" if env else ""
        parser.add_argument(
            f"--jira-{name}", dest=_dest(name), default=None, help=help_text + suffix
        )
    parser.add_argument(
        "--jira-project",
        dest="project",
        action="append",
        default=None,
        metavar="KEY",
        help="project to check (repeatable)",
    )
    parser.add_argument(
        "--jira-system-trust",
        dest="system_trust",
        action="store_true",
        help="verify TLS with the operating system's trust store",
    )
    parser.add_argument(
        "--jira-strict",
        dest="strict",
        action="store_true",
        help="certification run: warnings and blocked checks also make the exit code non-zero",
    )
    parser.add_argument(
        "--jira-demo",
        dest="demo",
        nargs="?",
        const="dc-healthy",
        default=None,
        metavar="SCENARIO",
        help="check the bundled Jira emulator instead of a real Jira",
    )
    return parser


def pytest_arguments(
    options: argparse.Namespace, url: str | None, extra: Sequence[str]
) -> list[str]:
    """The pytest command line equivalent to the customer's."""
    args: list[str] = ["--jira-url", url] if url else []
    for name, _env, _type, _help in OPTIONS:
        value = getattr(options, _dest(name), None)
        if name != "url" and value is not None:
            args += [f"--jira-{name}", value]
    for key in options.project or []:
        args += ["--jira-project", key]
    if options.system_trust:
        args.append("--jira-system-trust")
    if options.strict:
        args.append("--jira-strict")
    if options.demo:
        args += ["--jira-demo", options.demo]
    return [*args, *QUIET_PYTEST_ARGS, *extra]


def _dest(option: str) -> str:
    return option.replace("-", "_")


class UsageProblem(Exception):
    """A sentence for the user, and exit code 4."""


def ask_for_credentials(
    url: str, options: argparse.Namespace, env: dict[str, str]
) -> dict[str, str]:
    """The environment additions that give the run its credentials, prompting when allowed."""
    user = options.user or env.get("JIRA_USER") or None
    try:
        found = resolve_credentials(
            url=url,
            user=user,
            auth=options.auth or "auto",
            env=env,
            secret_file=options.secret_file,
        )
    except SettingsError as exc:
        raise UsageProblem(str(exc)) from None
    if found is not None:
        return {}
    if not sys.stdin.isatty():
        raise UsageProblem(
            MISSING_CREDENTIALS + "; or run this command in a terminal to be asked for them"
        )
    print(f"No credentials for the Visor bot on {url} in the environment.", file=sys.stderr)
    if user is None:
        user = (
            input(
                "Bot user name (an e-mail address on Cloud; empty for a personal access token): "
            ).strip()
            or None
        )
    prompt = f"Password or API token of {user}: " if user else "Personal access token: "
    secret = getpass.getpass(prompt)
    if not secret:
        raise UsageProblem("no secret was typed: nothing to check with (AUTH_NO_CREDENTIALS)")
    if user:
        return {"JIRA_USER": user, "JIRA_PASSWORD": secret}
    return {"JIRA_TOKEN": secret}


class _RunWatcher:
    """Keeps hold of the run's target and report paths, and tells the plugin that this command
    prints the verdict itself."""

    def __init__(self) -> None:
        self.target: JiraTarget | None = None
        self.paths: dict[str, Path] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[terminal.VERDICT_OWNED] = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.target = session.config.stash.get(plugin.TARGET_KEY, None)
        self.paths = dict(session.config.stash.get(plugin.PATHS_KEY, {}))


def main(argv: Sequence[str] | None = None) -> int:
    options, extra = build_parser().parse_known_args(argv)
    env = dict(os.environ)
    url_raw = options.url or env.get("JIRA_URL")
    try:
        if options.demo is None:
            if not url_raw:
                raise UsageProblem(
                    f"give the Jira URL: {PROG} https://jira.example.com (or set JIRA_URL)"
                )
            try:
                url = validate_url(url_raw)
            except SettingsError as exc:
                raise UsageProblem(str(exc)) from None
            os.environ.update(ask_for_credentials(url, options, env))
    except UsageProblem as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return USAGE_ERROR
    watcher = _RunWatcher()
    with tempfile.TemporaryDirectory(prefix="visor-jira-check-") as scratch:
        # An empty configuration: a pytest.ini or conftest.py where the customer happens to stand
        # must not change the checks.
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = ["-c", str(ini), "--rootdir", str(plugin.CHECKS_DIR)]
        code = pytest.main(
            [*args, *pytest_arguments(options, options.url, extra)], plugins=[watcher]
        )
    if watcher.target is not None:
        print("\n".join(terminal.verdict_lines(watcher.target, watcher.paths)))
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
