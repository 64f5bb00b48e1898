"""A run's results built by hand, for the report unit tests: no Jira, no pytest run."""

from __future__ import annotations

from typing import Any

from conformance.check import CheckRecord, Outcome, Requirement, Step
from conformance.engine.result import RunResult, conclude
from conformance.engine.verdict import RunState
from conformance.evidence import Evidence, Exchange, Problem
from conformance.findings import CATALOGUE, finding, placeholders
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

PASSWORD = "unit-Secret+pw/42"


def make_target(*, strict: bool = False, url: str = "https://jira.example.com") -> JiraTarget:
    credentials = Credentials(
        user="visor-bot",
        secret=Secret(PASSWORD),
        scheme="basic",
        secret_kind="password",
        origin="JIRA_PASSWORD",
    )
    redactor = Redactor()
    redactor.register(credentials.secret)
    settings = Settings(url=url, credentials=credentials, strict=strict)
    return JiraTarget(settings, redactor, load_profile(None))


def filled(code: str, params: dict[str, object]) -> dict[str, Any]:
    """Every placeholder of the code's templates: the given values, else a visible sample."""
    spec = CATALOGUE[code]
    advice = min(spec.advice, default=None)  # an entry with advice texts: the first of them
    wanted = placeholders(spec.summary) | placeholders(spec.remediation)
    wanted |= placeholders(spec.advice[advice]) if advice else set()
    sample = {name: params.get(name, f"sample-{name}") for name in wanted}
    return {**sample, "advice": advice} if advice else sample


def add(
    target: JiraTarget,
    check_id: str,
    outcome: Outcome,
    *,
    project: str | None = None,
    findings: tuple[str, ...] = (),
    blocked_by: CheckRecord | None = None,
    notes: tuple[str, ...] = (),
    step: Step = Step.REACH,
) -> CheckRecord:
    params = {"host": "jira.example.com", "port": 443, "url": target.url, "error": "x"}
    record = CheckRecord(
        requirement=Requirement(check_id, f"Title of {check_id}", step),
        project=project,
        nodeid=f"test_{check_id.replace('.', '_')}.py::test_it",
        outcome=outcome,
        findings=[finding(code, **filled(code, params)) for code in findings],
        blocked_by=blocked_by,
        notes=list(notes),
    )
    target.records.append(record)
    return record


def exchange(**overrides: object) -> Exchange:
    values: dict[str, object] = {
        "method": "GET",
        "url": "https://jira.example.com/rest/api/2/myself",
        "status": 401,
        "reason": "Unauthorized",
        "headers": {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
        "body_excerpt": '{"errorMessages":["login failed"]}',
        "auth_scheme": "basic",
        "user": "visor-bot",
    }
    values.update(overrides)
    return Exchange(**values)  # type: ignore[arg-type]


def evidence(*exchanges: Exchange, **facts: object) -> Evidence[dict[str, object]]:
    return Evidence("account.myself", False, dict(facts), list(exchanges), problem=Problem.REJECTED)


def add_perm_missing(
    target: JiraTarget,
    project: str,
    *,
    scheme: str = "'Shared permission scheme'",
    missing: tuple[str, ...] = ("CREATE_ISSUES", "EDIT_ISSUES"),
    blocked: int = 0,
) -> CheckRecord:
    """A project whose permission scheme lacks grants, and ``blocked`` checks waiting for it."""
    record = CheckRecord(
        requirement=Requirement(
            "permissions.granted", "The bot has the permissions Visor needs", Step.PROJECTS
        ),
        project=project,
        nodeid=f"test_permissions.py::test_granted[{project}]",
        outcome=Outcome.FAIL,
        findings=[
            finding(
                "PERM_MISSING",
                evidence={"missing": list(missing), "access": "write"},
                missing=" and ".join(missing),
                project=project,
                purpose="create and edit issues",
                scheme=scheme,
                user="visor-bot",
            )
        ],
    )
    target.records.append(record)
    for n in range(blocked):
        target.records.append(
            CheckRecord(
                requirement=Requirement(
                    f"permissions.after_{n}", f"Check {n} that needs the grants", Step.PROJECTS
                ),
                project=project,
                nodeid=f"test_permissions.py::test_after_{n}[{project}]",
                outcome=Outcome.BLOCKED,
                blocked_by=record,
            )
        )
    return record


def finished(target: JiraTarget, state: RunState | None = None) -> RunResult:
    """The run's one result from the rows added by hand (every row required, unless ``state``
    says what was required and what happened to the run)."""
    return conclude(target, state)
