"""Opt-in: can the bot write the way two-way sync does, and does it leave nothing behind?

Only with ``--jira-write-project KEY``: create an issue labelled ``visor-conformance``, read it
back, edit the profile's write fields, read back, comment, transition, and delete it. Without the
option this check is skipped ("not requested") and the run sends no mutating request at all.
"""

from __future__ import annotations

from conformance.check import Outcome, Step, current, fail, not_applicable, note, requirement, show
from conformance.findings import Finding, finding
from conformance.probes.write import PERMISSION, WriteRoundTrip
from conformance.target import JiraTarget


@requirement(
    "write.roundtrip",
    "The bot can create, edit, comment on, transition and delete an issue, leaving none behind",
    Step.IMPORT,
    after=["permissions.granted"],
)
def test_write_roundtrip(jira: JiraTarget) -> None:
    project = jira.settings.write_project
    if project is None:
        not_applicable("not requested (add --jira-write-project KEY to run it)")
    machine = WriteRoundTrip(jira, project)
    try:
        evidence = machine.run()
    except KeyboardInterrupt:
        # pytest makes no report for an interrupted test: write the row here, then stop.
        evidence = machine.evidence()
        record = current()
        record.outcome = Outcome.ERROR
        show(evidence)
        _notes(evidence.facts)
        note("interrupted (Ctrl-C): the run stopped after deleting its test issue")
        record.findings.extend(_cleanup_findings(evidence.facts))
        raise
    show(evidence)
    _notes(evidence.facts)
    findings = _findings(evidence.facts)
    if findings:
        fail(*findings)


def _notes(facts: dict[str, object]) -> None:
    note(f"project {facts['project']}, issue type {facts['issue_type']} ({facts['deployment']})")
    for step in facts["steps"]:  # type: ignore[attr-defined]
        detail = f" ({step['detail']})" if step["detail"] else ""
        note(f"{step['step']}: {step['outcome']}{detail}")


def _findings(facts: dict[str, object]) -> list[Finding]:
    project = facts["project"]
    found: list[Finding] = []
    failure = facts.get("failure")
    if isinstance(failure, dict):
        step = failure["step"]
        advice = _advice(step, failure, str(project))
        if step == "create":
            found.append(
                finding(
                    "WRITE_CREATE_FAILED",
                    project=project,
                    issue_type=facts["issue_type"],
                    status=failure["status"],
                    message=failure["message"],
                    advice=advice,
                )
            )
        else:
            found.append(
                finding(
                    "WRITE_EDIT_FAILED",
                    key=facts["key"],
                    step=step,
                    status=failure["status"],
                    message=failure["message"],
                    advice=advice,
                )
            )
    for mismatch in facts.get("mismatches") or []:  # type: ignore[attr-defined]
        found.append(
            finding(
                "WRITE_READBACK_MISMATCH",
                key=facts["key"],
                step=mismatch["step"],
                difference=mismatch["difference"],
                project=project,
            )
        )
    return found + _cleanup_findings(facts)


def _cleanup_findings(facts: dict[str, object]) -> list[Finding]:
    cleanup = facts.get("cleanup") or {}
    if not isinstance(cleanup, dict) or cleanup.get("ok", True):
        return []
    return [
        finding(
            "WRITE_CLEANUP_FAILED",
            key=cleanup["key"],
            reason=cleanup["reason"],
            link=cleanup["link"],
            project=facts["project"],
        )
    ]


def _advice(step: str, failure: dict[str, object], project: str) -> str:
    status = failure.get("http_status")
    permission = PERMISSION.get(step, "the needed permission")
    if failure.get("kind"):
        return (
            "The connection broke before Jira answered. Check the network path (a proxy or "
            "firewall that drops writes, or a request size limit) and Jira's logs, then run again."
        )
    if status in (401, 403) or (status == 400 and "permission" in str(failure["message"]).lower()):
        return (
            f"Grant the bot {permission} in {project}: Project settings > Permissions > Actions > "
            f"Edit permissions > {permission} > Grant."
        )
    if status == 400:
        return (
            f"Jira refused what Visor would send at step {step}. The create and edit screens of "
            f"the profile's issue type in {project} must hold the fields Visor writes, and no other "
            "field may be required (Project settings > Screens, Fields)."
        )
    if status == 404:
        return (
            f"Jira no longer finds the test issue: an app or automation in {project} moves or "
            "deletes new issues. Check Project settings > Automation and the installed apps."
        )
    return (
        "Jira failed on this request; its administrator will find the cause in "
        "atlassian-jira.log (often a workflow post-function or an app's listener)."
    )
