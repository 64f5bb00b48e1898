"""``visor-jira-check URL [options]``: the customer command.

It runs the same checks as ``pytest --jira-url URL``, with the same ``--jira-*`` options (the URL
may also be given as ``--jira-url URL``), but asks for the bot's user name and secret (without
echo) when they are not in the environment, prints no pytest output of its own, and ends with the
verdict, the numbered "fix these first" list and the paths of the reports.

Every input (URL, options, files, output paths, the earlier result of ``--jira-compare``) is
checked before the prompt and before the first request, so a mistake costs one sentence on stderr
and exit 4, never a traceback or a half-finished run.

Exit codes (docs/architecture.md §5): 0 ready, 1 not ready, 2 incomplete (also: cancelled at the prompt with
Ctrl-C or Ctrl-D, which prints "Cancelled."), 3 a check could not complete, 4 usage error
(including missing credentials when nobody can be asked).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance import __version__, plugin
from conformance.engine.result import RunResult
from conformance.handoff import new_identity, short_fingerprint
from conformance.options import OPTIONS, SEAL_FOR_HELP, Values, build_settings
from conformance.profile import load_profile
from conformance.report import compare, progress, terminal, writers
from conformance.report.files import check_output_paths, validate_output
from conformance.settings import (
    MISSING_CREDENTIALS,
    PROMPT_MARKER,
    Settings,
    SettingsError,
    clean_secret,
    user_path,
    without_credentials,
)
from conformance.signals import held_interrupts
from conformance.target import settings_notices

PROG = "visor-jira-check"
USAGE_ERROR = 4
CANCELLED = 2  # "incomplete": the run never started
# The conformance package is imported before pytest could rewrite its asserts (the command
# itself imports it), which pytest reports as a PytestAssertRewriteWarning: not the customer's
# business, and the checks do not rely on assert rewriting.
COMMON_PYTEST_ARGS = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")
# No pytest output for customers (no progress dots, no "Generated html report" rule, no warnings
# summary): the terminal reporter is left out and the command prints the verdict block itself.
QUIET_PYTEST_ARGS = (*COMMON_PYTEST_ARGS, "-p", "no:terminal")
# With extra pytest arguments (support debugging with -v, --collect-only ...) pytest's terminal
# output stays, kept short.
SHORT_PYTEST_ARGS = (*COMMON_PYTEST_ARGS, "-q", "--tb=no", "-rN")
URL_ARGUMENT = "the URL argument"


def build_parser() -> argparse.ArgumentParser:
    """The command line: the URL plus every ``--jira-*`` option the pytest plugin knows."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check that a Jira meets every requirement of the Visor integration. The bot's "
        "secret comes from JIRA_PASSWORD or JIRA_TOKEN, --jira-secret-file, ~/.netrc, or a prompt; "
        "never from the command line.",
        epilog="Other arguments are passed to pytest. Exit codes: 0 ready, 1 not ready, "
        "2 incomplete (or cancelled at the prompt with Ctrl-C or Ctrl-D), 3 a check could not "
        "complete, 4 usage error.",
    )
    parser.add_argument(
        "url", nargs="?", help="base URL of Jira, context path included [env JIRA_URL]"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    for name, env, _type, help_text in OPTIONS:
        suffix = f" [env {env}]" if env else ""
        if name == "url":
            help_text = "the same as the URL argument"
        parser.add_argument(
            f"--jira-{name}",
            dest="jira_url" if name == "url" else _dest(name),
            default=None,
            help=help_text + suffix,
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
        "--seal-for",
        "--jira-seal-for",
        dest="seal_for",
        action="append",
        default=None,
        metavar="RECIPIENT",
        help=SEAL_FOR_HELP + " (Visor support gives you the recipient)",
    )
    parser.add_argument(
        "--new-identity",
        dest="new_identity",
        default=None,
        metavar="PATH",
        help="Visor support: write a new age identity to PATH (mode 0600, never over a file), "
        "print the recipient to give customers, and check nothing",
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
    for recipient in options.seal_for or []:
        args += ["--jira-seal-for", recipient]
    if options.system_trust:
        args.append("--jira-system-trust")
    if options.strict:
        args.append("--jira-strict")
    if options.demo:
        args += ["--jira-demo", options.demo]
    return [*args, *(SHORT_PYTEST_ARGS if extra else QUIET_PYTEST_ARGS), *extra]


def _dest(option: str) -> str:
    return option.replace("-", "_")


class UsageProblem(Exception):
    """A sentence for the user, and exit code 4."""


def chosen_url(options: argparse.Namespace, env: dict[str, str]) -> tuple[str | None, str]:
    """The URL and how it was given: the URL argument, --jira-url, or JIRA_URL."""
    given = [
        (value, label)
        for value, label in ((options.url, URL_ARGUMENT), (options.jira_url, "--jira-url"))
        if value is not None
    ]
    if len(given) == 2 and given[0][0].strip() != given[1][0].strip():
        raise UsageProblem(
            f"two different URLs were given ({without_credentials(given[0][0])!r} as the URL "
            f"argument and {without_credentials(given[1][0])!r} as --jira-url): give one"
        )
    if given:
        return given[0]
    if env.get("JIRA_URL", "").strip():
        return env["JIRA_URL"], "env JIRA_URL"
    if "JIRA_URL" in env:
        raise UsageProblem(
            f"JIRA_URL is set but empty: give the Jira URL, e.g. {PROG} https://jira.example.com"
        )
    return None, "default"


def check_inputs(options: argparse.Namespace, env: dict[str, str]) -> Settings | None:
    """Every input checked exactly as the run will check it, before the prompt and any request.

    Returns the settings (their credentials None when the prompt must supply them), or None for
    a demo run, whose URL is known only once the emulator runs.
    """
    try:
        if options.demo is not None:
            report_dir = user_path(options.report_dir or "reports", "--jira-report-dir")
            json_path = user_path(options.json, "--jira-json") if options.json else None
            sources = {"report-dir": "--jira-report-dir" if options.report_dir else "default"}
            check_output_paths(report_dir, json_path, sources)
            load_profile(options.profile)
            return None
        url, source = chosen_url(options, env)
        if url is None and options.handoff:
            source = "default"  # the hand-over holds the URL
        elif url is None:
            raise UsageProblem(
                f"give the Jira URL: {PROG} https://jira.example.com (or set JIRA_URL)"
            )
        values: Values = {
            name: (getattr(options, _dest(name)), f"--jira-{name}")
            if getattr(options, _dest(name)) is not None
            else (env[env_name], f"env {env_name}")
            if env_name and env.get(env_name)
            else (None, "default")
            for name, env_name, _type, _help in OPTIONS
        }
        values["url"] = (url, source)
        values["project"] = (tuple(options.project or ()), "--jira-project")
        values["seal-for"] = (tuple(options.seal_for or ()), "--seal-for")
        values["system-trust"] = (options.system_trust, "--jira-system-trust")
        values["strict"] = (options.strict, "--jira-strict")
        settings = build_settings(values, env, require_credentials=False, check_output=False)
        compare.check_profile(settings.compare, load_profile(settings.profile))
        if settings.credentials is None and not sys.stdin.isatty():
            raise UsageProblem(
                MISSING_CREDENTIALS + "; or run this command in a terminal to be asked for them"
            )
        validate_output(settings)  # last: a usage error above leaves no report folder behind
        return settings
    except SettingsError as exc:
        raise UsageProblem(str(exc)) from None


def ask_for_credentials(
    url: str, options: argparse.Namespace, env: dict[str, str]
) -> dict[str, str]:
    """The environment additions that give the run its credentials, asked for at the terminal.

    Ctrl-C or Ctrl-D at a prompt raise KeyboardInterrupt or EOFError, which ``main`` turns into
    "Cancelled." and exit 2.
    """
    user = options.user or env.get("JIRA_USER") or None
    print(f"No credentials for the Visor bot on {url} in the environment.", file=sys.stderr)
    try:
        if user is None:
            typed = input(
                "Bot user name (an e-mail address on Cloud; empty for a personal access token): "
            )
            user = clean_secret(typed, "the prompt", what="user name").strip() or None
        prompt = f"Password or API token of {user}: " if user else "Personal access token: "
        secret = clean_secret(getpass.getpass(prompt), "the prompt")
    except SettingsError as exc:
        raise UsageProblem(str(exc)) from None
    if not secret:
        raise UsageProblem("no secret was typed: nothing to check with (AUTH_NO_CREDENTIALS)")
    if user:
        return {"JIRA_USER": user, "JIRA_PASSWORD": secret, PROMPT_MARKER: "prompt"}
    return {"JIRA_TOKEN": secret, PROMPT_MARKER: "prompt"}


class _RunWatcher:
    """Keeps hold of the run's result and report paths, tells the plugin that this command
    prints the verdict itself, and shows the run's progress (without pytest's own output)."""

    def __init__(self, show_progress: bool) -> None:
        self.result: RunResult | None = None
        self.paths: dict[str, Path] = {}
        self.hold: held_interrupts | None = None  # the run's hold on signals, which we end
        self.missing: dict[str, str] = {}
        self.progress = progress.CustomerProgress(sys.stdout) if show_progress else None

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[terminal.VERDICT_OWNED] = True

    def pytest_collection(self, session: pytest.Session) -> None:
        target = session.config.stash.get(plugin.TARGET_KEY, None)
        if self.progress is not None and target is not None:
            settings = target.settings
            mode = (
                f"write round trip in {settings.write_project}"
                if settings.write_project
                else ("read-only")
            )
            self.progress.begin(
                f"Checking {target.url} for Visor ({mode}; profile {target.profile.name})"
            )

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        run = session.config.stash.get(plugin.RUN_KEY, None)
        if self.progress is not None and run is not None:
            self.progress.start(run.selected)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "conformance_record", None)
        if self.progress is not None and record is not None and report.when == "call":
            self.progress.judged(record)

    def pytest_keyboard_interrupt(self) -> None:
        if self.progress is not None:
            self.progress.end()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.progress is not None:
            self.progress.end()
        self.result = session.config.stash.get(writers.RESULT_KEY, None)
        self.hold = session.config.stash.get(plugin.HOLD_KEY, None)
        none: dict[str, Path] = {}
        found: dict[str, Path] = session.config.stash.get(plugin.PATHS_KEY, none)
        self.paths = dict(found)
        self.missing = writers.not_written(session.config)


def printable_streams() -> None:
    """Jira's text (any language) must reach a terminal or file whose encoding lacks some of
    its characters (PYTHONIOENCODING=ascii, cp1252 on Windows when output goes to a file): such
    a character is written as an escape (\\u2603) instead of raising after the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def make_identity(options: argparse.Namespace, extra: Sequence[str]) -> int:
    """``--new-identity PATH``: support's key pair; the recipient is the last line printed."""
    try:
        if options.url or options.jira_url or options.demo or extra:
            raise UsageProblem("--new-identity makes a key and checks nothing: give it alone")
        recipient = new_identity(options.new_identity)
    except (UsageProblem, SettingsError) as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return USAGE_ERROR
    print(
        f"Wrote a new age identity to {options.new_identity} (mode 0600: only you can read it).\n"
        "Keep it private and backed up: hand-overs sealed for it open only with it, and anyone "
        "who copies it can open them.\n"
        f"Its recipient ({short_fingerprint(recipient)}), to give to customers for "
        f"'{PROG} URL --seal-for RECIPIENT' or a profile's handoff.recipients:\n{recipient}"
    )
    return 0


def console_main() -> int:
    """The ``visor-jira-check`` command: once the run has ended, signals stay held until the
    process exits (a Ctrl-C in its last milliseconds changes neither output nor exit code)."""
    return main(hold_to_exit=True)


def main(argv: Sequence[str] | None = None, *, hold_to_exit: bool = False) -> int:
    printable_streams()
    options, extra = build_parser().parse_known_args(argv)
    if options.new_identity is not None:
        return make_identity(options, extra)
    env = dict(os.environ)
    try:
        settings = check_inputs(options, env)
        if settings is not None and settings.credentials is None:
            os.environ.update(ask_for_credentials(settings.url, options, env))
            settings = check_inputs(options, dict(os.environ))
        for notice in settings_notices(settings) if settings is not None else ():
            print(f"{PROG}: warning: {notice}", file=sys.stderr)
    except UsageProblem as problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return USAGE_ERROR
    except (KeyboardInterrupt, EOFError):
        print("\nCancelled.", file=sys.stderr)
        return CANCELLED
    watcher = _RunWatcher(show_progress=not extra)
    # The URL as resolved (the argument, --jira-url or JIRA_URL); a hand-over brings its own.
    url = settings.url if settings is not None and settings.handoff is None else None
    with tempfile.TemporaryDirectory(prefix="visor-jira-check-") as scratch:
        # An empty configuration: a pytest.ini or conftest.py where the customer happens to stand
        # must not change the checks.
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = ["-c", str(ini), "--rootdir", str(plugin.CHECKS_DIR)]
        try:
            code = pytest.main([*args, *pytest_arguments(options, url, extra)], plugins=[watcher])
        except KeyboardInterrupt:  # after the run's end, as pytest let go of its signals
            if watcher.result is None:
                print("\nCancelled.", file=sys.stderr)
                return CANCELLED
            code = int(watcher.result.verdict.exit_code)
    if watcher.result is not None:  # printed whole: the run's hold on signals still holds
        say("\n".join(terminal.verdict_lines(watcher.result, watcher.paths, watcher.missing)))
    if watcher.hold is not None:
        if hold_to_exit:
            watcher.hold.ignore_to_the_exit()
        else:
            watcher.hold.release()
    return int(code)


def say(text: str) -> None:
    """Print to stdout; a reader that has gone (``| head -1``) does not change the exit code."""
    try:
        print(text)
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())  # the interpreter's last flush goes nowhere


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
