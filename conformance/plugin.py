"""The pytest plugin (``pytest11`` entry point): options, settings, collection, outcomes, reports.

With ``--jira-url`` (or ``JIRA_URL``, or ``--jira-demo``) and no test paths, a run collects the
packaged checks only; otherwise the plugin stays out of the way, so ``pytest`` in the repository
runs the project's own self-tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import check as check_module
from conformance.check import (
    BLOCKING_OUTCOMES,
    CheckFailed,
    CheckRecord,
    Outcome,
    Requirement,
)
from conformance.profile import load_profile
from conformance.secrets import Redactor
from conformance.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DEADLINE_S,
    DEFAULT_SLOW_MS,
    DEFAULT_TIMEOUT_S,
    MAX_CONCURRENCY,
    MISSING_CREDENTIALS,
    Settings,
    SettingsError,
    describe_settings,
    resolve_credentials,
    validate_url,
)
from conformance.target import JiraTarget

CHECKS_DIR = Path(__file__).parent / "checks"
AREA_ORDER = ("reachability", "api", "auth", "version", "permissions", "import", "write")
TARGET_KEY = pytest.StashKey[JiraTarget]()
RECORD_KEY = pytest.StashKey[CheckRecord]()
PATHS_KEY = pytest.StashKey[dict[str, Path]]()
EMULATOR_KEY = pytest.StashKey[Any]()

# name, env var, type, help
_OPTIONS: list[tuple[str, str | None, str, str]] = [
    ("url", "JIRA_URL", "string", "base URL of the Jira instance, context path included"),
    ("user", "JIRA_USER", "string", "bot user name (Server/Data Center) or e-mail address (Cloud)"),
    (
        "auth",
        None,
        "string",
        "auto|basic|bearer: auto sends a token without a user as a bearer PAT",
    ),
    (
        "profile",
        None,
        "string",
        "integration profile: a YAML file or a bundled name (default visor-default)",
    ),
    ("write-project", None, "string", "opt-in: run the write round trip in this project"),
    ("ca-bundle", None, "string", "extra CA bundle (PEM) to verify Jira's certificate"),
    ("timeout", None, "string", f"per-request timeout in seconds (default {DEFAULT_TIMEOUT_S:g})"),
    (
        "concurrency",
        None,
        "string",
        f"concurrent requests in flight (default {DEFAULT_CONCURRENCY})",
    ),
    (
        "deadline",
        None,
        "string",
        f"overall deadline of the run in seconds (default {DEFAULT_DEADLINE_S:g})",
    ),
    ("report-dir", None, "string", "where HTML, JSON and JUnit reports go (default reports/)"),
    ("json", None, "string", "also write the JSON result to this exact path"),
    ("secret-file", None, "string", "file holding the bot's password or token"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jira", "Visor Jira conformance")
    for name, env, _type, help_text in _OPTIONS:
        suffix = f" [env {env}]" if env else ""
        group.addoption(f"--jira-{name}", dest=_dest(name), default=None, help=help_text + suffix)
        parser.addini(_dest(name), help_text, type="string", default=None)
    group.addoption(
        "--jira-project",
        dest="jira_project",
        action="append",
        default=None,
        metavar="KEY",
        help="project to check (repeatable); default: the profile's list, else every visible project",
    )
    parser.addini("jira_project", "projects to check", type="args", default=[])
    for name, help_text in (
        ("system-trust", "verify TLS with the operating system's trust store"),
        ("strict", "warnings and blocked checks also make the exit code non-zero"),
    ):
        group.addoption(
            f"--jira-{name}", dest=_dest(name), action="store_true", default=None, help=help_text
        )
        parser.addini(_dest(name), help_text, type="bool", default=False)
    group.addoption(
        "--jira-demo",
        dest="jira_demo",
        nargs="?",
        const="dc-healthy",
        default=None,
        metavar="SCENARIO",
        help="start the bundled Jira emulator (default scenario dc-healthy) and check it",
    )


def _dest(name: str) -> str:
    return "jira_" + name.replace("-", "_")


# -- settings ------------------------------------------------------------------------------------


def _raw(config: pytest.Config, name: str, env: str | None) -> tuple[Any, str]:
    """A raw value and its source: command line > environment > ini > default."""
    dest = _dest(name)
    value = config.getoption(dest, default=None)
    if value is not None:
        return value, f"--jira-{name}"
    if env and os.environ.get(env):
        return os.environ[env], f"env {env}"
    try:
        ini = config.getini(dest)
    except ValueError:
        ini = None
    if ini not in (None, "", [], False):  # pytest gives False for an unset bool ini
        return ini, f"ini {dest}"
    return None, "default"


def _number(raw: Any, name: str, kind: type, low: float, high: float) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"--jira-{name} {raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"--jira-{name} {raw!r} is out of range ({low:g} to {high:g})")
    return value


def is_active(config: pytest.Config) -> bool:
    """Does this run check a Jira (as opposed to running ordinary tests)?"""
    return bool(config.getoption("jira_demo", None) or _raw(config, "url", "JIRA_URL")[0])


def resolve_settings(config: pytest.Config, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    sources: dict[str, str] = {}

    def get(name: str, env_name: str | None = None) -> Any:
        value, source = _raw(config, name, env_name)
        sources[name] = source
        return value

    demo = config.getoption("jira_demo", None)
    url_raw = get("url", "JIRA_URL")
    if demo:
        url_raw = config.stash[EMULATOR_KEY].url
        sources["url"] = f"--jira-demo {demo}"
        for key, value in _demo_credentials(demo).items():
            env.setdefault(key, value)
    url = validate_url(str(url_raw))
    user = get("user", "JIRA_USER")
    if demo and user is None and "JIRA_USER" in env:
        user = env["JIRA_USER"]
        sources["user"] = "--jira-demo account"
    credentials = resolve_credentials(
        url=url, user=user, auth=str(get("auth") or "auto"), env=env, secret_file=get("secret-file")
    )
    if credentials is None:
        raise SettingsError(MISSING_CREDENTIALS)
    sources["secret"] = credentials.origin
    projects_cli = config.getoption("jira_project", None)
    projects = tuple(projects_cli or config.getini("jira_project") or ())
    sources["projects"] = (
        "--jira-project" if projects_cli else ("ini jira_project" if projects else "profile")
    )
    for key in projects:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise SettingsError(
                f"--jira-project {key!r} is not a Jira project key (upper-case letters, digits, _)"
            )
    write_project = get("write-project")
    if write_project is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", write_project):
        raise SettingsError(f"--jira-write-project {write_project!r} is not a Jira project key")
    ca_raw = get("ca-bundle")
    ca_bundle = None
    if ca_raw:
        ca_bundle = Path(ca_raw).expanduser()
        try:
            with ca_bundle.open("rb") as handle:
                head = handle.read(65536)
        except OSError as exc:
            raise SettingsError(
                f"--jira-ca-bundle {str(ca_bundle)!r} cannot be read ({exc.strerror or exc})"
            ) from None
        if b"-----BEGIN CERTIFICATE-----" not in head:
            raise SettingsError(
                f"--jira-ca-bundle {str(ca_bundle)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )
    system_trust = bool(get("system-trust"))
    strict = bool(get("strict"))
    timeout_raw, conc_raw, deadline_raw = get("timeout"), get("concurrency"), get("deadline")
    report_dir = Path(get("report-dir") or "reports")
    json_path = get("json")
    return Settings(
        url=url,
        credentials=credentials,
        profile=get("profile"),
        projects=projects,
        write_project=write_project,
        ca_bundle=ca_bundle,
        system_trust=system_trust,
        timeout_s=_number(timeout_raw, "timeout", float, 0.1, 600)
        if timeout_raw
        else DEFAULT_TIMEOUT_S,
        concurrency=_number(conc_raw, "concurrency", int, 1, MAX_CONCURRENCY)
        if conc_raw
        else DEFAULT_CONCURRENCY,
        deadline_s=_number(deadline_raw, "deadline", float, 1, 86400)
        if deadline_raw
        else DEFAULT_DEADLINE_S,
        slow_ms=DEFAULT_SLOW_MS,
        report_dir=report_dir,
        json_path=Path(json_path) if json_path else None,
        strict=strict,
        demo_scenario=demo,
        sources=sources,
    )


def _demo_credentials(scenario: str) -> dict[str, str]:
    """The emulator's contract accounts, so that --jira-demo needs no set-up."""
    if scenario == "cloud":
        return {"JIRA_USER": "visor-bot@example.com", "JIRA_TOKEN": "visor-bot-token"}
    if scenario in ("dc-11.3", "basic-auth-disabled", "sso-redirect"):
        return {"JIRA_TOKEN": "visor-bot-token"}
    return {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"}


# -- configuration -------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(requirement): a Visor Jira conformance check")
    if not is_active(config) or hasattr(config, "workerinput"):
        return
    if getattr(config.option, "dist", "no") != "no":
        # One process: the run shares one HTTP layer, one login latch and one result (pytest-xdist
        # would give each worker its own, and so multiply failed logins).
        config.option.dist, config.option.numprocesses = "no", None
    demo = config.getoption("jira_demo", None)
    if demo:
        config.stash[EMULATOR_KEY] = _start_emulator(demo)
    try:
        settings = resolve_settings(config)
        profile = load_profile(settings.profile)
    except SettingsError as exc:
        _stop_emulator(config)
        raise pytest.UsageError(str(exc)) from None
    redactor = Redactor()
    if settings.credentials is not None:
        redactor.register(settings.credentials.secret)
    target = JiraTarget(settings, redactor, profile)
    config.stash[TARGET_KEY] = target
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(CHECKS_DIR)]
    paths = _report_paths(settings)
    config.stash[PATHS_KEY] = paths
    if not config.getoption("htmlpath", None) and config.pluginmanager.hasplugin("html"):
        config.option.htmlpath = str(paths["html"])
        config.option.self_contained_html = True
    if not config.getoption("xmlpath", None):
        config.option.xmlpath = str(paths["xml"])
    if config.pluginmanager.hasplugin("html"):
        from conformance.report import html

        config.option.css = [*getattr(config.option, "css", []), str(html.CSS_PATH)]
        config.pluginmanager.register(html.HtmlReportPlugin(target, config), "conformance-html")
    from conformance.report import hygiene

    config.pluginmanager.register(hygiene.HygienePlugin(redactor), "conformance-hygiene")


def _report_paths(settings: Settings) -> dict[str, Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    host = re.sub(r"[^A-Za-z0-9.-]", "_", settings.host)
    return {
        kind: settings.report_dir / f"{host}-{stamp}.{kind}" for kind in ("html", "json", "xml")
    }


def _start_emulator(scenario: str) -> Any:
    try:
        from conformance.emulator import SCENARIOS, EmulatorServer
    except ImportError as exc:  # pragma: no cover - the emulator ships with the package
        raise pytest.UsageError(
            f"--jira-demo needs the bundled emulator, which failed to import: {exc}"
        ) from None
    if scenario not in SCENARIOS:
        raise pytest.UsageError(
            f"--jira-demo {scenario!r} is not a scenario; choose one of: {', '.join(sorted(SCENARIOS))}"
        )
    return EmulatorServer(scenario).start()


def _stop_emulator(config: pytest.Config) -> None:
    server = config.stash.get(EMULATOR_KEY, None)
    if server is not None:
        server.stop()
        del config.stash[EMULATOR_KEY]


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        return []
    s = target.settings
    creds = s.credentials
    lines = [
        f"jira: {s.url} (from {s.sources.get('url')})",
        f"bot: {creds.describe() if creds else 'none'}",
        f"profile: {target.profile.source}",
        f"proxy: {target.http.proxy.describe()}",
        f"mode: {'write round trip in ' + s.write_project if s.write_project else 'read-only'}",
        "settings: " + "; ".join(describe_settings(s)),
    ]
    return lines


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        from conformance.report import terminal

        terminal.write_last_line(config, target, config.stash.get(PATHS_KEY, {}))
        target.close()
        del config.stash[TARGET_KEY]
    _stop_emulator(config)


# -- collection ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def jira(request: pytest.FixtureRequest) -> JiraTarget:
    """The Jira under test: settings, HTTP layer, profile and the probe cache."""
    target = request.config.stash.get(TARGET_KEY, None)
    if target is None:
        pytest.skip("no Jira to check: give --jira-url URL (or --jira-demo)")
    return target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One row per project for checks taking ``project``; ids are the project keys themselves."""
    if "project" not in metafunc.fixturenames:
        return
    target = metafunc.config.stash.get(TARGET_KEY, None)
    keys = project_keys(target) if target is not None else []
    params: list[str | None] = list(keys) or [None]
    ids = [key or "no-visible-project" for key in params]
    metafunc.parametrize("project", params, ids=ids, scope="session")


def project_keys(target: JiraTarget) -> list[str]:
    """The projects to check: --jira-project, else the profile's list, else every visible one.

    The --jira-write-project is always among them: its permissions explain the round trip. The
    visible projects are asked for only if Jira answers at all (a dead host costs one timeout,
    not two) and the bot's login was accepted (so a rejected login is not repeated).
    """
    from conformance.probes import account, network, projects

    if target.settings.projects:
        keys = list(target.settings.projects)
    elif target.profile.projects is not None:
        keys = [spec.key for spec in target.profile.projects]
    elif target.probe(network.status).problem == "transport" or not target.probe(account.myself).ok:
        keys = []
    else:
        keys = list(target.probe(projects.visible_projects).fact("keys") or [])
    write_project = target.settings.write_project
    if write_project and write_project not in keys:
        keys.append(write_project)
    return keys


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(TARGET_KEY, None) is None:
        return

    def area_rank(item: pytest.Item) -> int:
        req = requirement_of(item)
        if req is None:
            return len(AREA_ORDER)
        area = req.id.split(".", 1)[0]
        return AREA_ORDER.index(area) if area in AREA_ORDER else len(AREA_ORDER)

    items.sort(key=area_rank)
    # A check runs after the checks it names in ``after``, even those of a later area (e.g.
    # api.search_endpoint after auth.authenticates), so that "blocked" can apply to it.
    by_id: dict[str, list[pytest.Item]] = {}
    for item in items:
        req = requirement_of(item)
        if req is not None:
            by_id.setdefault(req.id, []).append(item)
    ordered: list[pytest.Item] = []
    placed: set[int] = set()

    def place(item: pytest.Item, trail: frozenset[int]) -> None:
        if id(item) in placed or id(item) in trail:
            return
        req = requirement_of(item)
        for dep in req.after if req is not None else ():
            for prior in by_id.get(dep, []):
                if _project_of(prior) in (None, _project_of(item)):
                    place(prior, trail | {id(item)})
        placed.add(id(item))
        ordered.append(item)

    for item in items:
        place(item, frozenset())
    items[:] = ordered


def _project_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("project") if callspec is not None else None


def requirement_of(item: pytest.Item) -> Requirement | None:
    marker = item.get_closest_marker("conformance")
    if marker is None or not marker.args:
        return None
    req = marker.args[0]
    return req if isinstance(req, Requirement) else None


# -- outcomes ------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    target = item.config.stash.get(TARGET_KEY, None)
    req = requirement_of(item)
    if target is None or req is None:
        return
    project = _project_of(item)
    if project is None and req.id.startswith("write."):
        project = target.settings.write_project  # the write round trip's row is its project's
    record = CheckRecord(requirement=req, project=project, nodeid=item.nodeid)
    item.stash[RECORD_KEY] = record
    target.records.append(record)
    for dep in req.after:
        prior = target.record(dep, project) or target.record(dep, None)
        if prior is not None and prior.outcome in BLOCKING_OUTCOMES:
            record.outcome = Outcome.BLOCKED
            record.blocked_by = prior
            root = prior.root_cause()
            codes = ", ".join(f.code for f in root.findings) or root.outcome.value
            pytest.skip(f"blocked by {root.label} ({codes})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    record = item.stash.get(RECORD_KEY, None)
    token = check_module._current.set(record)
    try:
        return (yield)
    finally:
        check_module._current.reset(token)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    record = item.stash.get(RECORD_KEY, None)
    if record is None:
        return report
    if report.when == "setup":
        if report.failed:
            record.outcome = Outcome.ERROR
            record.notes.append("the check could not start (error in set-up)")
        elif report.skipped and record.outcome != Outcome.BLOCKED:
            record.outcome = Outcome.SKIPPED
            record.notes.append(_skip_reason(report))
    elif report.when == "call":
        record.duration_s = report.duration
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, CheckFailed):
            record.outcome = Outcome.FAIL
            record.findings.extend(f for f in excinfo.value.findings if f not in record.findings)
            report.longrepr = _findings_text(record)
        elif report.failed:
            record.outcome = Outcome.ERROR
            message = excinfo.exconly() if excinfo is not None else "unknown error"
            record.notes.append(f"the check could not complete: {message}")
        elif report.skipped:
            record.outcome = Outcome.SKIPPED
            record.notes.append(_skip_reason(report))
        else:
            record.outcome = Outcome.WARN if record.findings else Outcome.PASS
    report.conformance_record = record
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _findings_text(record: CheckRecord) -> str:
    lines = []
    for f in record.findings:
        lines.append(f"{f.code} ({f.severity}): {f.summary}")
        lines.append(f"  Fix: {f.remediation}")
    return "\n".join(lines)


# -- end of run ----------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        return
    from conformance.probes import write
    from conformance.report import json_result

    write.cleanup_leftovers(target)  # safety net: delete any test issue a round trip left
    result = json_result.build(target)
    paths = config.stash.get(PATHS_KEY, {})
    json_result.write(result, paths["json"], target.redactor)
    if target.settings.json_path is not None:
        json_result.write(result, target.settings.json_path, target.redactor)
    if exitstatus in (
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.USAGE_ERROR,
        pytest.ExitCode.INTERNAL_ERROR,
    ):
        return
    session.exitstatus = exit_code(target)


def exit_code(target: JiraTarget) -> int:
    """0 ready; 1 not ready; 3 a check could not complete. Strict: warnings and blocks count too."""
    outcomes = {r.outcome for r in target.records}
    if Outcome.FAIL in outcomes:
        return 1
    if Outcome.ERROR in outcomes:
        return 3
    if target.settings.strict and outcomes & {Outcome.WARN, Outcome.BLOCKED}:
        return 1
    if not target.records:
        return int(pytest.ExitCode.NO_TESTS_COLLECTED)
    return 0


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """Keep an allowlist: pytest-metadata adds CI variables such as GIT_URL and JAVA_HOME."""
    from conformance.report import hygiene

    hygiene.filter_metadata(metadata)
