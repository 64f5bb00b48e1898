"""The opt-in write round trip: create, read, edit, comment, transition and delete one issue.

Only with ``--jira-write-project KEY``. It is a small state machine whose one promise matters
more than its verdict: the issue it creates is deleted whatever happens. A failing step, an
exception or Ctrl-C all end in ``_cleanup`` (a ``finally`` that defers further Ctrl-C until the
delete has been sent); an issue that survives that is held in a registry that the plugin's
session finish and an ``atexit`` handler try again. It touches only issues it created: each run
labels its issue with a label unique to the run, and that label is the only thing it searches for.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.evidence import Evidence, Exchange
from conformance.http import HttpResult, JiraHttp
from conformance.probes.search import CLOUD_SEARCH, DC_SEARCH, deployment_type, error_messages

if TYPE_CHECKING:
    from conformance.target import JiraTarget

LABEL = "visor-conformance"
EDITED_LABEL = "visor-conformance-edited"
SUMMARY = "Visor conformance check: temporary test issue, safe to delete"
ISSUE = "/rest/api/2/issue"
SEARCH_POLL_S = 10.0  # Cloud search is eventually consistent: wait this long at most
DELETE_RETRY_DELAY_S = 0.5
# The permission a step needs, for the remediation text.
PERMISSION = {
    "create": "Create Issues",
    "read": "Browse Projects",
    "edit": "Edit Issues",
    "reread": "Browse Projects",
    "comment": "Add Comments",
    "transition": "Transition Issues",
    "search": "Browse Projects",
    "delete": "Delete Issues",
}


@dataclass
class StepRecord:
    step: str
    outcome: str  # ok | failed | mismatch | skipped
    detail: str
    status: int | None = None

    def line(self) -> str:
        return f"{self.step}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class CreatedIssue:
    """An issue this run created and has not yet seen deleted."""

    key: str
    project: str
    link: str
    http: JiraHttp


class StepFailed(Exception):
    """A step got no usable answer: the round trip stops and goes straight to cleanup."""


# Issues created and not yet deleted, across every round trip of the process (the safety net).
_PENDING: dict[str, CreatedIssue] = {}
_PENDING_LOCK = threading.Lock()


@dataclass
class WriteRoundTrip:
    target: JiraTarget
    project: str
    on_step: Callable[[str], None] | None = None  # called before each step (progress, tests)
    run_label: str = field(default_factory=lambda: f"visor-run-{uuid.uuid4().hex[:12]}")
    steps: list[StepRecord] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    created: CreatedIssue | None = None
    issue_type: str = ""
    failure: dict[str, Any] | None = None
    mismatches: list[dict[str, str]] = field(default_factory=list)
    cleanup: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    cloud: bool = False
    create_sent: bool = False
    _status_id: str | None = field(default=None, init=False)  # the issue's status after create
    _expected: dict[str, Any] = field(default_factory=dict, init=False)  # what the edit wrote

    # -- the machine -------------------------------------------------------------------------

    def run(self) -> Evidence:
        """Run every step; whatever happens, delete what was created. Re-raises Ctrl-C."""
        self.issue_type = self.target.profile.issue_types_for(self.project)[0]
        self.cloud = deployment_type(self.target) == "Cloud"
        try:
            for step, action in (
                ("create", self._create),
                ("read", self._read_created),
                ("edit", self._edit),
                ("reread", self._read_edited),
                ("comment", self._comment),
                ("transition", self._transition),
                ("search", self._poll_search),
            ):
                if self.on_step is not None:
                    self.on_step(step)
                action()
        except StepFailed:
            pass
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        finally:
            with deferred_interrupts():
                self._cleanup()
        return self.evidence()

    def evidence(self) -> Evidence:
        facts: dict[str, Any] = {
            "project": self.project,
            "issue_type": self.issue_type,
            "run_label": self.run_label,
            "key": self.created.key if self.created else self.cleanup.get("key"),
            "link": self.created.link if self.created else self.cleanup.get("link"),
            "steps": [s.__dict__ for s in self.steps],
            "failure": self.failure,
            "mismatches": self.mismatches,
            "cleanup": self.cleanup,
            "interrupted": self.interrupted,
            "deployment": "Cloud" if self.cloud else "Data Center",
        }
        ok = self.failure is None and not self.mismatches and self.cleanup.get("ok", True)
        return Evidence("write.roundtrip", ok, facts, list(self.exchanges))

    # -- HTTP helpers --------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> HttpResult:
        """Every request of the round trip: uncached (a read-back must really read back)."""
        result = self.target.http.send(method, path, **kwargs)
        self.exchanges.append(result.exchange)
        return result

    def _expect(self, step: str, result: HttpResult, *statuses: int) -> Any:
        """The JSON body of a successful answer; otherwise record the failure and stop."""
        if result.failure is None and result.status in statuses:
            body, _ = result.json()
            return body
        if result.failure is not None:
            status = f"no answer: {result.failure.kind}"
            message = result.failure.detail
        else:
            status, message = str(result.status), error_messages(result)
        self.steps.append(StepRecord(step, "failed", f"{status}: {message}", result.status))
        self.failure = {
            "step": step,
            "status": status,
            "http_status": result.status,
            "message": message,
            "kind": result.failure.kind if result.failure else None,
        }
        raise StepFailed(step)

    def _ok(self, step: str, detail: str = "") -> None:
        self.steps.append(StepRecord(step, "ok", detail))

    def _compare(self, step: str, expected: dict[str, Any], body: Any) -> None:
        fields = body.get("fields") if isinstance(body, dict) else None
        fields = fields if isinstance(fields, dict) else {}
        differences = []
        for name, wanted in expected.items():
            got = _plain(name, fields.get(name))
            if isinstance(wanted, set):
                if not wanted <= set(got or []):
                    differences.append(f"{name} should include {sorted(wanted)}, is {got!r}")
            elif got != wanted:
                differences.append(f"{name} should be {wanted!r}, is {got!r}")
        if differences:
            self.mismatches.append({"step": step, "difference": "; ".join(differences)})
            self.steps.append(StepRecord(step, "mismatch", "; ".join(differences)))
        else:
            self._ok(step, f"{', '.join(expected)} as written")

    # -- steps -----------------------------------------------------------------------------------

    def _create(self) -> None:
        fields = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": SUMMARY,
            "labels": [LABEL, self.run_label],
        }
        self.create_sent = True
        result = self._send("POST", ISSUE, json={"fields": fields})
        try:
            body = self._expect("create", result, 201, 200)
        except StepFailed:
            if _may_have_created(result):
                self._adopt_lost_issue()
            raise
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str):
            self._adopt_lost_issue()
            self.steps.append(StepRecord("create", "failed", "Jira's answer named no issue key"))
            self.failure = {"step": "create", "status": str(result.status), "message": "no key"}
            raise StepFailed("create")
        self._remember(key)
        self._ok("create", f"{key}, a {self.issue_type} labelled {LABEL}")

    def _remember(self, key: str) -> None:
        self.created = CreatedIssue(
            key, self.project, f"{self.target.url}/browse/{key}", self.target.http
        )
        with _PENDING_LOCK:
            _PENDING[self.created.link] = self.created

    def _adopt_lost_issue(self) -> None:
        """A create whose answer was lost may still have created the issue: find it by the run's
        own label (nothing else carries it) so that cleanup deletes it."""
        jql = f"project = {self.project} AND labels = {self.run_label}"
        path = CLOUD_SEARCH if self.cloud else DC_SEARCH
        result = self._send("GET", path, params={"jql": jql, "fields": "labels"})
        body, _ = result.json()
        issues = body.get("issues") if isinstance(body, dict) else None
        for issue in issues if isinstance(issues, list) else []:
            if not isinstance(issue, dict):
                continue
            labels = (issue.get("fields") or {}).get("labels") or []
            if self.run_label in labels and isinstance(issue.get("key"), str):
                self._remember(issue["key"])
                return

    def _key(self) -> str:
        assert self.created is not None
        return self.created.key

    def _read_created(self) -> None:
        result = self._send(
            "GET",
            f"{ISSUE}/{self._key()}",
            params={"fields": "summary,labels,issuetype,project,status"},
        )
        body = self._expect("read", result, 200)
        self._compare(
            "read",
            {
                "summary": SUMMARY,
                "labels": {LABEL, self.run_label},
                "issuetype": self.issue_type,
                "project": self.project,
            },
            body,
        )
        fields = body.get("fields") if isinstance(body, dict) else {}
        status = (fields or {}).get("status")
        self._status_id = status.get("id") if isinstance(status, dict) else None

    def _edits(self) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """The values to write for the profile's write fields (summary when it names none)."""
        names = self.target.profile.write_fields or ("summary",)
        values: dict[str, Any] = {}
        expected: dict[str, Any] = {}
        skipped: list[str] = []
        for name in names:
            if name == "summary":
                values[name] = expected[name] = f"{SUMMARY} (edited)"
            elif name == "description":
                text = "Written by the Visor conformance check; this issue is deleted at once."
                values[name] = expected[name] = text
            elif name == "labels":
                values[name] = [LABEL, self.run_label, EDITED_LABEL]
                expected[name] = {LABEL, self.run_label, EDITED_LABEL}
            else:
                skipped.append(name)
        if not values:
            values["summary"] = expected["summary"] = f"{SUMMARY} (edited)"
        return values, expected, skipped

    def _edit(self) -> None:
        values, self._expected, skipped = self._edits()
        result = self._send("PUT", f"{ISSUE}/{self._key()}", json={"fields": values})
        self._expect("edit", result, 204, 200)
        detail = ", ".join(values)
        if skipped:
            detail += f"; no safe test value for {', '.join(skipped)}, not written"
        self._ok("edit", detail)

    def _read_edited(self) -> None:
        result = self._send(
            "GET", f"{ISSUE}/{self._key()}", params={"fields": ",".join(self._expected)}
        )
        body = self._expect("reread", result, 200)
        self._compare("reread", self._expected, body)

    def _comment(self) -> None:
        text = "Visor conformance check: the bot can comment. This issue is deleted at once."
        result = self._send("POST", f"{ISSUE}/{self._key()}/comment", json={"body": text})
        self._expect("comment", result, 201, 200)
        self._ok("comment")

    def _transition(self) -> None:
        path = f"{ISSUE}/{self._key()}/transitions"
        body = self._expect("transition", self._send("GET", path), 200)
        choices = [
            t
            for t in (body or {}).get("transitions") or []
            if isinstance(t, dict) and (t.get("to") or {}).get("id") != self._status_id
        ]
        if not choices:
            self.steps.append(StepRecord("transition", "skipped", "no transition available"))
            return
        chosen = choices[0]
        result = self._send("POST", path, json={"transition": {"id": chosen.get("id")}})
        self._expect("transition", result, 204, 200)
        self._ok("transition", f"{chosen.get('name')} (id {chosen.get('id')})")

    def _poll_search(self) -> None:
        """Cloud's /search/jql is eventually consistent: wait (bounded) until it finds the issue."""
        if not self.cloud:
            return
        started = time.monotonic()
        jql = f"key = {self._key()}"
        while True:
            result = self._send("GET", CLOUD_SEARCH, params={"jql": jql, "fields": "summary"})
            body, _ = result.json()
            waited = time.monotonic() - started
            if isinstance(body, dict) and body.get("issues"):
                self._ok("search", f"found by /search/jql after {waited:.1f} s")
                return
            if waited > SEARCH_POLL_S or result.failure is not None:
                self.steps.append(
                    StepRecord("search", "skipped", f"not yet in search after {waited:.0f} s")
                )
                return
            time.sleep(0.5)

    # -- cleanup -----------------------------------------------------------------------------

    def _cleanup(self) -> None:
        if self.created is None and self.create_sent and self.interrupted:
            self._adopt_lost_issue()  # interrupted while Jira was answering the create
        if self.created is None:
            self.cleanup = {"ok": True, "needed": False}
            return
        deleted, reason = delete_issue(self.created, self.exchanges.append)
        self.cleanup = {
            "ok": deleted,
            "needed": True,
            "reason": reason,
            "key": self.created.key,
            "link": self.created.link,
        }
        self.steps.append(
            StepRecord(
                "delete",
                "ok" if deleted else "failed",
                self.created.key + (f": {reason}" if reason else ""),
            )
        )


def delete_issue(issue: CreatedIssue, record: Callable[[Exchange], None]) -> tuple[bool, str]:
    """Delete an issue this process created: (gone, why not). Retries once: DELETE is idempotent."""
    path = f"{ISSUE}/{issue.key}"
    reason = ""
    for attempt in range(2):
        result = issue.http.send("DELETE", path, cleanup=True)
        record(result.exchange)
        if result.failure is None and result.status in (204, 200, 404):
            _forget(issue)
            return True, ""
        reason = (
            f"no answer: {result.failure.kind}"
            if result.failure
            else f"{result.status}: {error_messages(result)}"
        )
        if result.failure is not None and result.failure.kind in ("read_only", "latched"):
            break
        if result.status is not None and result.status < 500 and result.status != 429:
            break  # a refusal: asking again would be refused again
        if attempt == 0:
            time.sleep(DELETE_RETRY_DELAY_S)
    # The delete may have worked although its answer was lost: look before naming it.
    check = issue.http.send("GET", path, params={"fields": "summary"}, cleanup=True)
    record(check.exchange)
    if check.failure is None and check.status == 404:
        _forget(issue)
        return True, ""
    return False, reason


def _forget(issue: CreatedIssue) -> None:
    with _PENDING_LOCK:
        _PENDING.pop(issue.link, None)


def _may_have_created(result: HttpResult) -> bool:
    """A lost or failed answer to a create may hide an issue that was created all the same."""
    if result.failure is not None:
        return result.failure.kind not in ("read_only", "latched", "deadline")
    return result.status is not None and (result.status >= 500 or 200 <= result.status < 300)


def _plain(name: str, value: Any) -> Any:
    """A field value as the round trip compares it: names of objects, lists as they are."""
    if name == "project" and isinstance(value, dict):
        return value.get("key")
    if isinstance(value, dict):
        return value.get("name", value)
    return value


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C until the block ends (main thread only): a second Ctrl-C must not stop the
    delete that the first one started."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT, previous if previous is not None else signal.default_int_handler
        )
        if received:
            raise KeyboardInterrupt


def pending() -> list[CreatedIssue]:
    """Issues created by this process and not (yet) deleted."""
    with _PENDING_LOCK:
        return list(_PENDING.values())


def cleanup_leftovers(target: JiraTarget | None = None) -> list[tuple[CreatedIssue, str]]:
    """The safety net: delete what the round trip could not (called at session finish and exit).

    Returns what is still left, with why; with a target, the write.roundtrip report row is told.
    """
    left: list[tuple[CreatedIssue, str]] = []
    for issue in pending():
        if target is not None and issue.http is not target.http:
            continue
        with deferred_interrupts():
            deleted, reason = delete_issue(issue, lambda exchange: None)
        if not deleted:
            left.append((issue, reason))
    if target is not None and left:
        _report_leftovers(target, left)
        for issue, _ in left:
            _forget(issue)  # named in the report now: exit need not ask Jira a third time
    return left


def _report_leftovers(target: JiraTarget, left: list[tuple[CreatedIssue, str]]) -> None:
    from conformance.check import Outcome
    from conformance.findings import finding

    for issue, reason in left:
        record = target.record("write.roundtrip", issue.project)
        if record is None:
            continue
        found = finding(
            "WRITE_CLEANUP_FAILED",
            key=issue.key,
            reason=reason,
            link=issue.link,
            project=issue.project,
        )
        if found not in record.findings:
            record.findings.append(found)
        record.outcome = Outcome.FAIL


@atexit.register
def _cleanup_at_exit() -> None:
    left = cleanup_leftovers()
    for issue, reason in left:
        print(
            f"visor-jira-conformance: test issue {issue.key} could not be deleted ({reason}): {issue.link}"
        )
