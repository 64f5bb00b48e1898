"""The ``--jira-*`` options, and the run's settings resolved from them.

Both commands read the same table (``pytest --jira-url`` through the plugin, ``visor-jira-check``
through its own argument parser), so an option added here exists in both. Resolution is pure apart
from reading files the user named: the plugin passes in what it owns (the demo emulator's URL and
accounts), and every problem is a ``SettingsError`` (exit 4) raised before any request is sent.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance import handoff
from conformance.handoff import (
    DEFAULT_MAX_AGE_DAYS,
    IDENTITY_ENV,
    Opened,
    open_handoff,
    parse_recipient,
)
from conformance.report.files import validate_output
from conformance.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DEADLINE_S,
    DEFAULT_SLOW_MS,
    DEFAULT_TIMEOUT_S,
    MAX_CONCURRENCY,
    MISSING_CREDENTIALS,
    Credentials,
    Settings,
    SettingsError,
    check_environment,
    load_comparison,
    read_regular_file,
    resolve_credentials,
    user_path,
    validate_url,
)

# name, env var, type, help
OPTIONS: list[tuple[str, str | None, str, str]] = [
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
    (
        "client-cert",
        None,
        "string",
        "TLS client certificate (PEM) to present to a Jira behind mutual TLS",
    ),
    ("client-key", None, "string", "the private key (PEM) of --jira-client-cert"),
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
    (
        "compare",
        None,
        "string",
        "an earlier run's JSON result: the reports add what was fixed, what is new and what is "
        "still failing since then",
    ),
    (
        "handoff",
        None,
        "string",
        "Visor support: run against the URL and credentials sealed in this *.visor-handoff.age "
        "file, decrypted in memory",
    ),
    (
        "identity",
        IDENTITY_ENV,
        "string",
        "Visor support: the age identity file that opens --jira-handoff (private: mode 0600)",
    ),
    (
        "handoff-max-age",
        None,
        "string",
        f"refuse a hand-over sealed more than this many days ago (default "
        f"{DEFAULT_MAX_AGE_DAYS:g}: an older secret may have been changed)",
    ),
]
SEAL_FOR_HELP = (
    "after a run whose login Jira accepted, seal the URL, version, bot user and secret for this "
    "age recipient (age1..., repeatable) in a *.visor-handoff.age file beside the reports"
)
# Given with --jira-handoff, these would contradict the hand-over, which holds them.
HANDOFF_HOLDS = ("url", "user", "auth", "secret-file")
_OPTIONS = OPTIONS  # the name the plugin used


def add_options(parser: pytest.Parser) -> None:
    """Register every ``--jira-*`` option and its ``jira_*`` ini twin (``pytest_addoption``)."""
    group = parser.getgroup("jira", "Visor Jira conformance")
    for name, env, _type, help_text in OPTIONS:
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
    group.addoption(
        "--jira-seal-for",
        dest="jira_seal_for",
        action="append",
        default=None,
        metavar="RECIPIENT",
        help=SEAL_FOR_HELP + "; also the profile's handoff.recipients",
    )
    parser.addini("jira_seal_for", "age recipients to seal the credentials for", type="args")
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


Values = dict[str, tuple[Any, str]]  # option name -> (raw value, where it came from)


def _raw(
    config: pytest.Config, name: str, env_name: str | None, env: Mapping[str, str] | None = None
) -> tuple[Any, str]:
    """A raw value and its source: command line > environment > ini > default.

    A variable that is set but empty counts only when nothing else gives a value, so that
    ``JIRA_URL= pytest --jira-url X`` works and ``JIRA_URL= pytest`` is refused, not ignored.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    dest = _dest(name)
    value = config.getoption(dest, default=None)
    if value is not None:
        return value, f"--jira-{name}"
    if env_name and environ.get(env_name):
        return environ[env_name], f"env {env_name}"
    try:
        ini = config.getini(dest)
    except ValueError:
        ini = None
    if ini not in (None, "", [], False):  # pytest gives False for an unset bool ini
        return ini, f"ini {dest}"
    if env_name and env_name in environ:
        return environ[env_name], f"env {env_name}"
    return None, "default"


def _number(raw: Any, name: str, kind: type, low: float, high: float) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError, OverflowError):
        raise SettingsError(f"--jira-{name} {raw!r} is not a number") from None
    if not low <= value <= high:  # NaN fails this too
        raise SettingsError(f"--jira-{name} {raw!r} is out of range ({low:g} to {high:g})")
    return value


def is_active(config: pytest.Config, options: argparse.Namespace | None = None) -> bool:
    """Does this run check a Jira (as opposed to running ordinary tests)?

    An explicitly empty ``--jira-url ""`` (an unset variable in a script) or a JIRA_URL that is
    set but empty counts as active, so that resolve_settings refuses it (exit 4) instead of the
    plugin silently running whatever tests the folder holds. ``options`` is the namespace to
    read before pytest has parsed the whole command line (its early, known arguments).
    """
    given = config.option if options is None else options
    if getattr(given, "jira_demo", None) or getattr(given, "jira_url", None) is not None:
        return True
    if getattr(given, "jira_handoff", None):
        return True
    if "JIRA_URL" in os.environ:
        return True
    try:
        return bool(config.getini("jira_url"))
    except ValueError:
        return False


def collect_values(config: pytest.Config, env: dict[str, str]) -> Values:
    """Every option's raw value and source, read from pytest's command line, env and ini."""
    values: Values = {name: _raw(config, name, env_name, env) for name, env_name, _t, _h in OPTIONS}
    for name in ("system-trust", "strict"):
        values[name] = _raw(config, name, None, env)
    projects_cli = config.getoption("jira_project", None)
    projects = tuple(projects_cli or config.getini("jira_project") or ())
    values["project"] = (
        projects,
        "--jira-project" if projects_cli else ("ini jira_project" if projects else "profile"),
    )
    seal_cli = config.getoption("jira_seal_for", None)
    seal_for = tuple(seal_cli or config.getini("jira_seal_for") or ())
    values["seal-for"] = (
        seal_for,
        "--jira-seal-for" if seal_cli else ("ini jira_seal_for" if seal_for else "default"),
    )
    return values


def resolve_settings(
    config: pytest.Config,
    env: dict[str, str] | None = None,
    *,
    demo_url: str | None = None,
    demo_env: dict[str, str] | None = None,
    check_output: bool = True,
) -> Settings:
    """The run's settings; ``demo_url``/``demo_env`` are the demo emulator's URL and accounts.

    With ``check_output`` the report folder is created and proven writable, and --jira-json
    checked, so an unwritable destination is exit 4 before any request.
    """
    env = dict(os.environ if env is None else env)
    return build_settings(
        collect_values(config, env),
        env,
        demo=config.getoption("jira_demo", None),
        demo_url=demo_url,
        demo_env=demo_env,
        check_output=check_output,
    )


def url_label(source: str) -> str:
    """How the user gave the URL, for the sentence: '--jira-url', 'JIRA_URL', 'the URL argument'."""
    return source.removeprefix("env ").replace("ini jira_url", "the ini option jira_url")


def build_settings(
    values: Values,
    env: dict[str, str],
    *,
    demo: str | None = None,
    demo_url: str | None = None,
    demo_env: dict[str, str] | None = None,
    require_credentials: bool = True,
    check_output: bool = True,
) -> Settings:
    """Validate every value (pure apart from reading the files the user named)."""
    env = dict(env)
    sources: dict[str, str] = {}

    def get(name: str) -> Any:
        value, source = values.get(name, (None, "default"))
        sources[name] = source
        return value

    url_raw = get("url")
    handoff_raw = get("handoff")
    opened = _open_handoff(str(handoff_raw), values, get, demo) if handoff_raw else None
    if opened is not None:
        url_raw = opened.url
        sources["url"] = opened.handoff.source
    demo_keys: set[str] = set()
    if demo:
        url_raw = demo_url or ""
        sources["url"] = f"--jira-demo {demo}"
        for key, value in (demo_env or {}).items():
            if key not in env:
                env[key] = value
                demo_keys.add(key)
    if url_raw is None:
        raise SettingsError(
            "no Jira URL: give --jira-url https://jira.example.com (or set JIRA_URL)"
        )
    if not str(url_raw).strip() and sources["url"].startswith("env "):
        raise SettingsError(
            f"{url_label(sources['url'])} is set but empty: give Jira's address, e.g. "
            f"--jira-url https://jira.example.com, or unset {url_label(sources['url'])} to run "
            "ordinary tests"
        )
    url = validate_url(str(url_raw), url_label(sources["url"]))
    user = get("user")
    if demo and user is None and "JIRA_USER" in demo_keys:
        user = env["JIRA_USER"]
        sources["user"] = "--jira-demo account"
    ca_raw = get("ca-bundle")
    ca_bundle = _ca_bundle(user_path(str(ca_raw), "--jira-ca-bundle")) if ca_raw else None
    check_environment(url, env, ca_bundle_given=ca_bundle is not None)
    client_cert, client_key = _client_certificate(get("client-cert"), get("client-key"))
    credentials: Credentials | None
    if opened is not None:  # as if given by hand: the variables of this machine do not count
        credentials = opened.credentials
        sources.update(dict.fromkeys(("user", "auth"), handoff.FROM_HANDOFF))
    else:
        credentials = resolve_credentials(
            url=url,
            user=user,
            auth=str(get("auth") or "auto"),
            env=env,
            secret_file=get("secret-file"),
            user_origin=sources["user"].removeprefix("env "),
        )
    if credentials is None and require_credentials:
        raise SettingsError(MISSING_CREDENTIALS)
    if credentials is not None:
        if credentials.origin in demo_keys:  # the demo's account, not the operator's variable
            credentials = dataclasses.replace(credentials, origin="--jira-demo")
        sources["secret"] = credentials.origin
    projects = tuple(get("project") or ())
    for key in projects:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise SettingsError(
                f"--jira-project {key!r} is not a Jira project key (upper-case letters, digits, _)"
            )
    write_project = get("write-project")
    if write_project is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", write_project):
        raise SettingsError(f"--jira-write-project {write_project!r} is not a Jira project key")
    timeout_raw, conc_raw, deadline_raw = get("timeout"), get("concurrency"), get("deadline")
    json_path = get("json")
    compare_raw = get("compare")
    profile = get("profile")
    if profile is None and opened is not None and opened.handoff.bundled_profile:
        profile = opened.handoff.bundled_profile  # the customer's run used it
        sources["profile"] = handoff.FROM_HANDOFF
    settings = Settings(
        url=url,
        credentials=credentials,
        profile=profile,
        projects=projects,
        write_project=write_project,
        ca_bundle=ca_bundle,
        system_trust=bool(get("system-trust")),
        client_cert=client_cert,
        client_key=client_key,
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
        report_dir=user_path(str(get("report-dir") or "reports"), "--jira-report-dir"),
        json_path=user_path(str(json_path), "--jira-json") if json_path else None,
        strict=bool(get("strict")),
        demo_scenario=demo,
        sources=sources,
        compare=load_comparison(str(compare_raw), url) if compare_raw else None,
        seal_for=_recipients(get("seal-for"), sources["seal-for"]),
        handoff=opened.handoff if opened is not None else None,
    )
    if check_output:
        validate_output(settings)
    return settings


def _open_handoff(raw: str, values: Values, get: Any, demo: str | None) -> Opened:
    """Support's side: the URL and credentials from a hand-over, decrypted in memory."""
    if demo:
        raise SettingsError(
            "--jira-handoff and --jira-demo cannot be combined: the hand-over names its own Jira"
        )
    given = [
        source
        for name in HANDOFF_HOLDS
        for value, source in [values.get(name, (None, "default"))]
        if value is not None and (source.startswith("--") or source == "the URL argument")
    ]
    if given:
        raise SettingsError(
            f"--jira-handoff holds the Jira URL and the bot's credentials, so {' and '.join(given)} "
            f"cannot be given with it: leave {'it' if len(given) == 1 else 'them'} out"
        )
    identity = get("identity")
    max_age = get("handoff-max-age")
    return open_handoff(
        raw,
        str(identity) if identity else None,
        identity_label=values.get("identity", (None, "--jira-identity"))[1].removeprefix("env "),
        max_age_days=_number(max_age, "handoff-max-age", float, 0.001, 36500)
        if max_age
        else DEFAULT_MAX_AGE_DAYS,
    )


def _recipients(raw: Any, source: str) -> tuple[str, ...]:
    """The --jira-seal-for recipients, checked, each once."""
    label = source if source.startswith(("--", "ini ")) else "--jira-seal-for"
    return tuple(dict.fromkeys(parse_recipient(str(r), label) for r in raw or ()))


MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024


def _client_certificate(cert_raw: Any, key_raw: Any) -> tuple[Path | None, Path | None]:
    """--jira-client-cert and --jira-client-key, checked: PEM files, the key given or in the
    certificate's file. Their contents never reach a report; only the certificate's subject."""
    if key_raw and not cert_raw:
        raise SettingsError("--jira-client-key needs --jira-client-cert (the certificate it signs)")
    if not cert_raw:
        return None, None
    cert = Path(str(cert_raw)).expanduser()
    head = read_regular_file(cert, "--jira-client-cert", MAX_CA_BUNDLE_BYTES, what="certificate")
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise SettingsError(
            f"--jira-client-cert {str(cert)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    if not key_raw:
        if b"PRIVATE KEY-----" not in head:
            raise SettingsError(
                f"--jira-client-cert {str(cert)!r} holds no private key: give it with "
                "--jira-client-key PATH"
            )
        return cert, None
    key = Path(str(key_raw)).expanduser()
    if b"PRIVATE KEY-----" not in read_regular_file(
        key, "--jira-client-key", MAX_CA_BUNDLE_BYTES, what="private key"
    ):
        raise SettingsError(f"--jira-client-key {str(key)!r} holds no PEM private key")
    return cert, key


def _ca_bundle(path: Path) -> Path:
    head = read_regular_file(path, "--jira-ca-bundle", MAX_CA_BUNDLE_BYTES, what="CA bundle")
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise SettingsError(
            f"--jira-ca-bundle {str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    return path
