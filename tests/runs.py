"""Runs of the checks as self-tests read them: the JSON result, row by row.

``run_checks(url, ...)`` is a whole run in the test's own process, through the engine
(``conformance.engine.run.run_all``) with settings resolved the way the command line resolves
them (``options.build_settings``): the rows and findings of a suite subprocess in a fraction of
its time. ``tests/e2e/conftest.run_suite`` starts the suite as a user does, for what only a
process shows (the plugin's wiring, the terminal, the report files, signals). Both give a
:class:`JsonRun`, so a test reads rows the same way whichever ran them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from conformance.check import Outcome
from conformance.emulator.demo import demo_setup
from conformance.engine.plan import discover_checks
from conformance.engine.result import RunResult
from conformance.engine.run import run_all
from conformance.engine.verdict import row_fails
from conformance.handoff import IDENTITY_ENV
from conformance.options import OPTIONS, Values, build_settings
from conformance.profile import load_profile
from conformance.report import json_result, summary
from conformance.report.terminal import closing_block, verdict_line
from conformance.report.terminal_text import failure_text, skip_reason
from conformance.secrets import Redactor
from conformance.settings import Settings
from conformance.target import JiraTarget
from tests.e2e.accounts import BOT

# The variables that would point a run at a developer's own Jira, or give it their secret (or
# support's identity, which opens hand-overs).
JIRA_ENV = ("JIRA_URL", "JIRA_USER", "JIRA_PASSWORD", "JIRA_TOKEN", "NETRC", IDENTITY_ENV)
RESULT_SCHEMA: dict[str, Any] = json.loads(
    resources.files("conformance.schemas").joinpath("result.schema.json").read_text("utf-8")
)
# Built once: jsonschema.validate() checks the schema itself first, every call (about a second).
RESULT_VALIDATOR = jsonschema.validators.validator_for(RESULT_SCHEMA)(RESULT_SCHEMA)
# The suite's child processes (tests/e2e) run pytest as its users do: without the hypothesis
# plugin, which only the self-tests install (the [test] extra) and which costs each child about a
# second of CPU to load, half of a whole run against the emulator.
AS_USERS_RUN = ("-p", "no:hypothesispytest")

# Every check module, and the probes they import, loaded now, while the tests are collected: a
# test using pytester forgets the modules it imported when it ends, and a later run would judge
# with a second import of them (``isinstance`` fails between a probe's facts and a check's type).
discover_checks()

# The outcomes pytest reports as skipped, with the row's reason.
SKIPPED = (Outcome.SKIPPED, Outcome.BLOCKED, Outcome.INCOMPLETE)

Option = str | bool | Path | tuple[str, ...] | None  # None: not given


@dataclass
class JsonRun:
    """One run, read from its JSON result (``result``) and its exit code (``ret``)."""

    ret: int
    result: dict[str, Any] = field(default_factory=dict)

    def rows(self, check_id: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        return [
            row
            for row in self.result.get("results", [])
            if (check_id is None or row["id"] == check_id)
            and (project is None or row["project"] == project)
        ]

    def row(self, check_id: str, project: str | None = None) -> dict[str, Any]:
        found = self.rows(check_id, project)
        assert len(found) == 1, (
            f"expected one row {check_id}[{project}], got {len(found)}: {self.outcomes()}"
        )
        return found[0]

    def outcome(self, check_id: str, project: str | None = None) -> str:
        return str(self.row(check_id, project)["outcome"])

    def outcomes(self) -> dict[str, str]:
        return {
            (f"{r['id']}[{r['project']}]" if r["project"] else r["id"]): r["outcome"]
            for r in self.result.get("results", [])
        }

    def codes(self, check_id: str | None = None, project: str | None = None) -> set[str]:
        return {f["code"] for row in self.rows(check_id, project) for f in row["findings"]}


@dataclass
class EngineRun(JsonRun):
    """A run of the engine in this process: its JSON result and its one ``RunResult``."""

    run: RunResult = field(kw_only=True)

    @property
    def terminal(self) -> str:
        """What the run's own writers put on the terminal, from the same result, pytest's own
        lines aside: each failing row's text, each skipped row's reason, the closing block and
        the last line (whose wording tests/e2e shows on a real terminal)."""
        result, strict = self.run, self.run.settings.strict
        fixes = summary.plan(result)
        lines = [
            failure_text(row, fixes.fix_for(row), strict=strict, width=100)
            if row_fails(row.outcome, strict=strict)
            else skip_reason(row)
            for row in result.rows
            if row_fails(row.outcome, strict=strict) or row.outcome in SKIPPED
        ]
        lines += closing_block(result, {}, 100)
        lines.append(verdict_line(result, {}))
        return "\n".join(lines)


def validated(result: dict[str, Any]) -> dict[str, Any]:
    """Every result a self-test reads must honour the published schema."""
    RESULT_VALIDATOR.validate(result)
    return result


def clean_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without a developer's Jira settings or ~/.netrc, plus ``env``
    (proxy and CA variables stay: the HTTP layer reads them, as it does in a user's run)."""
    clean = {k: v for k, v in os.environ.items() if k not in JIRA_ENV}
    clean["NETRC"] = os.devnull  # not a regular file: no ~/.netrc entry
    return {**clean, **env}


def settings_for(
    url: str | None,
    *,
    env: dict[str, str] | None = None,
    demo: str | None = None,
    **options: Option,
) -> Settings:
    """The settings ``pytest --jira-url URL --jira-NAME VALUE ...`` resolves in ``env`` (default:
    the emulator's bot with its password); an option is a keyword (``write_project="VIS"``,
    ``project=("VIS",)``, ``strict=True``). ``demo`` resolves as ``--jira-demo`` does, with
    the scenario's emulator at ``url``. A bad value raises ``SettingsError`` (exit 4)."""
    values: Values = {
        name.replace("_", "-"): (
            str(value) if isinstance(value, Path) else value,
            f"--jira-{name.replace('_', '-')}",
        )
        for name, value in options.items()
        if value is not None
    }
    if url is not None and demo is None:
        values["url"] = (url, "--jira-url")
    environ = clean_env(BOT if env is None and demo is None else env or {})
    for name, variable, _type, _help in OPTIONS:  # JIRA_USER and the like, as collect_values
        if variable and name not in values and environ.get(variable):
            values[name] = (environ[variable], f"env {variable}")
    return build_settings(
        values,
        environ,
        demo=demo,
        demo_url=url,
        demo_env=demo_setup(demo).env if demo is not None else None,
        check_output=False,
    )


def target_for(
    url: str | None,
    *,
    env: dict[str, str] | None = None,
    demo: str | None = None,
    **options: Option,
) -> JiraTarget:
    """The run's target as the plugin builds it from those settings (close it when done)."""
    settings = settings_for(url, env=env, demo=demo, **options)
    return target_of(settings, demo_setup(demo).profile if demo is not None else None)


def target_of(settings: Settings, demo_profile: str | None = None) -> JiraTarget:
    """The target the plugin builds for ``settings``: their secret scrubbed, their profile."""
    redactor = Redactor()
    if settings.credentials is not None:
        redactor.register(settings.credentials.secret)
    return JiraTarget(settings, redactor, load_profile(settings.profile or demo_profile))


def run_checks(
    url: str | None,
    *,
    env: dict[str, str] | None = None,
    demo: str | None = None,
    **options: Option,
) -> EngineRun:
    """Every check against ``url`` in this process; the JSON result as the run writes it."""
    target = target_for(url, env=env, demo=demo, **options)
    try:
        result = run_all(target)
    finally:
        target.close()
    data = json_result.build(result)
    # As the file holds it: scrubbed, and through JSON (tuples become lists).
    written = json.loads(json.dumps(result.redactor.scrub_obj(data)))
    return EngineRun(ret=int(result.verdict.exit_code), result=validated(written), run=result)
