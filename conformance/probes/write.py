"""The opt-in write round trip: create, read, edit, comment, transition and delete one issue.

Only with ``--jira-write-project KEY``. It is a small state machine whose promises matter more
than its verdict:

* It touches only an issue it has proven its own. The create's answer is only a claim: the key
  must have Jira's syntax in the write project, and a read-back must show the write project and
  the run's unique label before any edit, comment, transition or delete is sent. An answer that
  names another issue (a replaying proxy, a buggy app, ``../issue/OPS-1``) is never touched; the
  run's own issue is then found by its label (nothing else carries it) and deleted.
* The issue it created is deleted whatever happens: a failing step, an exception, the deadline,
  or a signal (SIGINT, SIGTERM, SIGHUP) all end in ``_cleanup``, which no further signal stops
  and no deadline blocks (cleanup requests are exempt, bounded by their own timeout).
* It never claims a deletion it did not see. A 404 to the DELETE of an issue the bot never read
  back is no proof (Jira hides issues the bot may not see behind 404): such an issue is reported
  as left behind, with its key.

What survives the round trip is held in the run's registry (``registry(target)``), which the
session's end and an ``atexit`` handler try again.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import signal
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypedDict
from urllib.parse import quote

from conformance.evidence import Evidence, Exchange
from conformance.http import TIMEOUT_KINDS, HttpResult, JiraHttp
from conformance.probes.search import CLOUD_SEARCH, DC_SEARCH, deployment_type, error_messages

if TYPE_CHECKING:
    from conformance.target import JiraTarget

LABEL = "visor-conformance"
EDITED_LABEL = "visor-conformance-edited"
SUMMARY = "Visor conformance check: temporary test issue, safe to delete"
ISSUE = "/rest/api/2/issue"
# Search is eventually consistent (Cloud; Data Center nodes index apart): a new issue is looked
# for this long at most, asking again every SEARCH_RETRY_S.
SEARCH_POLL_S = 10.0
SEARCH_RETRY_S = 0.5
DELETE_RETRY_DELAY_S = 0.5
# The signals that stop a run: what Ctrl-C, `timeout`, CI cancellation, docker stop and systemd
# send. Each is held while a delete is in flight and delivered once it has been sent.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
ISSUE_SECURITY_CAUSE = (
    "most likely the project's issue security scheme gives new issues a default security level "
    "that does not include the bot, so Jira hides the issue from it"
)
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


class StepJson(TypedDict):
    step: str
    outcome: str  # ok | failed | mismatch | skipped
    detail: str
    status: int | None


@dataclass
class StepRecord:
    step: str
    outcome: str  # ok | failed | mismatch | skipped
    detail: str
    status: int | None = None

    def line(self) -> str:
        return f"{self.step}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")

    def as_json(self) -> StepJson:
        return {
            "step": self.step,
            "outcome": self.outcome,
            "detail": self.detail,
            "status": self.status,
        }


class StepFailure(TypedDict):
    """The step that stopped the round trip (``WriteRoundTrip._fail``)."""

    step: str
    status: str  # "403", or "no answer: KIND"
    http_status: int | None
    message: str
    kind: str | None  # the HTTP layer's failure kind, or "foreign"
    deadline: bool  # the run's deadline stopped it: incomplete, not failed


# Why an issue is still named after cleanup (each has its finding: checks/test_write_roundtrip):
# refused: Jira refused the delete; blocked: the delete was answered as done but the issue
# still reads back (a WAF's page); vanished: 404 to the delete of an issue the bot had read
# (gone from its view, not deleted); hidden: never visible to the bot; unproven: neither the
# delete's answer nor the read-back showed Jira saying it is gone.
LeftKind = Literal["refused", "blocked", "vanished", "hidden", "unproven"]


class Cleanup(TypedDict, total=False):
    """What cleanup did; ``key`` and ``link`` name the issue left behind, if any."""

    ok: bool
    needed: bool
    confirmed: bool  # the issue was proven this run's own
    reason: str
    key: str
    link: str
    deleted: list[str]
    left: list[str]
    links: dict[str, str]  # key -> link, of the issues left
    kinds: dict[str, LeftKind]  # key -> why it is still named
    cause: Literal["issue_security"] | None
    # The create may have created an issue that the label search has not seen (its answer was
    # lost, a redirect, an unexpected status): where to look for it.
    maybe: bool
    run_label: str
    jql: str
    waited_s: float
    create_answer: str  # what came back to the create instead of an issue key


class RoundtripFacts(TypedDict):
    project: str
    issue_type: str
    run_label: str
    key: str | None
    link: str | None
    proof: Literal["read", "search"] | None  # how the issue was proven this run's own
    foreign: list[str]
    steps: list[StepJson]
    failure: StepFailure | None
    mismatches: list[dict[str, str]]  # {"step", "difference"}
    cleanup: Cleanup
    interrupted: bool
    signal: str | None
    incomplete: Literal["interrupted", "deadline"] | None
    deployment: Literal["Cloud", "Data Center"]


@dataclass
class CreatedIssue:
    """An issue this run has proven its own and not yet seen deleted.

    ``seen`` is True once a read-back by key showed it (the bot can see it, so a later 404
    means it is gone); an issue found only by its label search has ``seen`` False.
    """

    key: str
    project: str
    link: str
    http: JiraHttp
    run_label: str = ""
    cloud: bool = False
    seen: bool = False


@dataclass(frozen=True)
class Deletion:
    """What the delete of one issue proved: gone, or why it is still named (``kind``)."""

    deleted: bool
    reason: str = ""
    kind: LeftKind | None = None


@dataclass(frozen=True)
class Leftover:
    """What the session-end safety net did with one issue a round trip could not delete."""

    key: str
    project: str
    link: str
    deleted: bool
    reason: str
    kind: LeftKind | None = None


class StepFailed(Exception):
    """A step got no usable answer: the round trip stops and goes straight to cleanup."""


class CreatedIssues:
    """The run's registry of issues created and not yet deleted (the safety net's list)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issues: dict[str, CreatedIssue] = {}
        _LIVE.add(self)

    def add(self, issue: CreatedIssue) -> None:
        with self._lock:
            self._issues[issue.link] = issue

    def forget(self, issue: CreatedIssue) -> None:
        with self._lock:
            self._issues.pop(issue.link, None)

    def pending(self) -> list[CreatedIssue]:
        with self._lock:
            return list(self._issues.values())


# Every live registry, for the atexit safety net; a registry goes with its run.
_LIVE: weakref.WeakSet[CreatedIssues] = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()


def registry(target: JiraTarget) -> CreatedIssues:
    """The run's registry, kept on the target as ``target.created_issues`` (made when missing)."""
    with _REGISTRY_LOCK:
        found = getattr(target, "created_issues", None)
        if not isinstance(found, CreatedIssues):
            found = CreatedIssues()
            target.__dict__["created_issues"] = found
        return found


def key_pattern(project: str) -> re.Pattern[str]:
    """Jira's issue key syntax in one project: PROJECT-123."""
    return re.compile(rf"{re.escape(project)}-[1-9][0-9]*")


def issue_path(key: str) -> str:
    """The REST path of one issue, the key quoted as one path segment (no ``..``, no ``/``)."""
    return f"{ISSUE}/{quote(key, safe='')}"


@dataclass
class WriteRoundTrip:
    target: JiraTarget
    project: str
    on_step: Callable[[str], None] | None = None  # called before each step (progress, tests)
    run_label: str = field(default_factory=lambda: f"visor-run-{uuid.uuid4().hex[:12]}")
    steps: list[StepRecord] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    created: CreatedIssue | None = None  # the issue proven this run's own
    candidate: str | None = None  # the key the create's answer named, not yet proven
    foreign: list[str] = field(default_factory=list)  # keys named in answers, proven not ours
    issue_type: str = ""
    failure: StepFailure | None = None
    mismatches: list[dict[str, str]] = field(default_factory=list)
    cleanup: Cleanup = field(default_factory=Cleanup)
    interrupted: bool = False
    signal_name: str | None = None  # the signal that interrupted the run, when it is known
    cloud: bool = False
    create_sent: bool = False
    maybe_created: bool = False  # the create was sent and not clearly refused
    _status_id: str | None = field(default=None, init=False)  # the issue's status after create
    _create_answer: str = field(default="", init=False)  # what came back instead of a key
    _expected: dict[str, Any] = field(default_factory=dict, init=False)  # what the edit wrote

    # -- the machine -------------------------------------------------------------------------

    def run(self) -> Evidence[RoundtripFacts]:
        """Run every step; whatever happens, delete what was created. Re-raises interrupts."""
        self.issue_type = self.target.profile.issue_types_for(self.project)[0]
        try:
            with self._signals_as_interrupts():
                try:
                    self.cloud = deployment_type(self.target) == "Cloud"
                    for step, action in (
                        ("create", self._create),
                        ("read", self._prove_own),
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
                finally:
                    with deferred_interrupts():
                        self._cleanup()
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        return self.evidence()

    @contextlib.contextmanager
    def _signals_as_interrupts(self) -> Iterator[None]:
        """While the round trip may hold an issue, SIGINT, SIGTERM and SIGHUP stop it as Ctrl-C
        does (cleanup first), and the round trip learns which one it was. A handler the run
        installed is called first; an ignored signal (``nohup``) stays ignored."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        replaced: dict[int, Any] = {}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.signal_name = signal.Signals(signum).name
            previous = replaced.get(signum)
            if callable(previous) and previous is not signal.default_int_handler:
                previous(signum, frame)  # the run's own handler (it may raise KeyboardInterrupt)
            raise KeyboardInterrupt

        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                replaced[signum] = signal.signal(signum, stop)
        try:
            yield
        finally:
            for number, previous in replaced.items():
                signal.signal(number, _handler(number, previous))

    def evidence(self) -> Evidence[RoundtripFacts]:
        failure: Mapping[str, object] = self.failure or {}
        if self.interrupted:
            incomplete: Literal["interrupted", "deadline"] | None = "interrupted"
        elif failure.get("deadline"):
            incomplete = "deadline"
        else:
            incomplete = None
        key = self.created.key if self.created else self.cleanup.get("key", self.candidate)
        facts: RoundtripFacts = {
            "project": self.project,
            "issue_type": self.issue_type,
            "run_label": self.run_label,
            "key": key,
            "link": self.created.link if self.created else self.cleanup.get("link"),
            "proof": ("read" if self.created.seen else "search") if self.created else None,
            "foreign": list(self.foreign),
            "steps": [s.as_json() for s in self.steps],
            "failure": self.failure,
            "mismatches": self.mismatches,
            "cleanup": self.cleanup,
            "interrupted": self.interrupted,
            "signal": self.signal_name,
            "incomplete": incomplete,
            "deployment": "Cloud" if self.cloud else "Data Center",
        }
        ok = self.failure is None and not self.mismatches and self.cleanup.get("ok", True)
        return Evidence("write.roundtrip", bool(ok) and not incomplete, facts, list(self.exchanges))

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
        kind = result.failure.kind if result.failure else None
        self._fail(step, status, message, result.status, kind)

    def _fail(
        self, step: str, status: str, message: str, http_status: int | None, kind: str | None
    ) -> NoReturn:
        self.steps.append(StepRecord(step, "failed", f"{status}: {message}", http_status))
        self.failure = {
            "step": step,
            "status": status,
            "http_status": http_status,
            "message": message,
            "kind": kind,
            # The run's deadline passed while this step waited: the run is incomplete, not failed.
            "deadline": kind == "deadline"
            or (kind in TIMEOUT_KINDS and self.target.http.remaining_s() <= 0),
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
        self.create_sent = self.maybe_created = True
        result = self._send("POST", ISSUE, json={"fields": fields})
        if result.failure is not None or result.status not in (201, 200):
            self.maybe_created = _may_have_created(result)
            self._create_answer = _answer_shape(result)
            self._expect("create", result, 201, 200)
        body, _ = result.json()
        key = body.get("key") if isinstance(body, dict) else None
        if isinstance(key, str) and key_pattern(self.project).fullmatch(key):
            self.candidate = key
            self._ok("create", f"Jira named {key}, a {self.issue_type} labelled {LABEL}")
            return
        if key is not None:
            self.foreign.append(str(key))
        named = f"named {key!r}, not an issue key of {self.project}" if key else "named no key"
        self._create_answer = f"{_answer_shape(result)} that {named}"
        self._fail("create", str(result.status), f"Jira's answer {named}", result.status, "foreign")

    def _prove_own(self) -> None:
        """Read the issue the create named; only the write project and the run's label make it
        this run's own. Until then nothing is written to it."""
        assert self.candidate is not None
        key = self.candidate
        result = self._send(
            "GET", issue_path(key), params={"fields": "summary,labels,issuetype,project,status"}
        )
        body = self._expect("read", result, 200)
        if not self._shows_own(key, body):
            self.candidate = None
            self.foreign.append(key)
            message = (
                f"Jira's answer named {key}, an issue this run did not create (it is not in "
                f"{self.project} with the run's label {self.run_label}); it was not touched"
            )
            self._fail("create", str(result.status), message, result.status, "foreign")
        self._own(key, seen=True)
        fields = body["fields"]
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
        status = fields.get("status")
        self._status_id = status.get("id") if isinstance(status, dict) else None

    def _shows_own(self, key: str, body: Any) -> bool:
        """Whether a read-back of ``key`` shows this run's issue: that key, the write project,
        the run's unique label."""
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict) or body.get("key") != key:
            return False
        labels = fields.get("labels")
        return (
            _plain("project", fields.get("project")) == self.project
            and isinstance(labels, list)
            and self.run_label in labels
        )

    def _own(self, key: str, *, seen: bool) -> None:
        """``key`` is proven this run's own: hold it for cleanup."""
        self.candidate = None if self.candidate == key else self.candidate
        issue = CreatedIssue(
            key,
            self.project,
            f"{self.target.url}/browse/{key}",
            self.target.http,
            self.run_label,
            self.cloud,
            seen,
        )
        if self.created is None:
            self.created = issue
        registry(self.target).add(issue)

    def _adopt_by_label(self) -> list[str] | None:
        """A create whose answer was lost, late or untrustworthy may still have created the
        issue: find it by the run's own label (nothing else carries it), so cleanup deletes it.
        An empty answer is asked again for a bounded time (Jira's index may lag: between Data
        Center nodes, on Cloud). Returns what the search found (None: it never answered)."""
        found = find_by_label(
            self.target.http,
            self.project,
            self.run_label,
            self.cloud,
            self.exchanges.append,
            wait_s=SEARCH_POLL_S,
        )
        for key in sorted(found or [], key=lambda k: k != self.candidate):
            if key not in {i.key for i in registry(self.target).pending()}:
                self._own(key, seen=False)
        return found

    def _key(self) -> str:
        assert self.created is not None
        return self.created.key

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
        result = self._send("PUT", issue_path(self._key()), json={"fields": values})
        self._expect("edit", result, 204, 200)
        detail = ", ".join(values)
        if skipped:
            detail += f"; no safe test value for {', '.join(skipped)}, not written"
        self._ok("edit", detail)

    def _read_edited(self) -> None:
        result = self._send(
            "GET", issue_path(self._key()), params={"fields": ",".join(self._expected)}
        )
        body = self._expect("reread", result, 200)
        self._compare("reread", self._expected, body)

    def _comment(self) -> None:
        text = "Visor conformance check: the bot can comment. This issue is deleted at once."
        result = self._send("POST", f"{issue_path(self._key())}/comment", json={"body": text})
        self._expect("comment", result, 201, 200)
        self._ok("comment")

    def _transition(self) -> None:
        path = f"{issue_path(self._key())}/transitions"
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
        """Delete every issue proven this run's own; name what cannot be deleted or proven."""
        failure: Mapping[str, object] = self.failure or {}
        unanswered = failure.get("step") != "read" or failure.get("http_status") is None
        if self.created is None and self.candidate is not None and unanswered:
            self._prove_in_cleanup(self.candidate)  # stopped before a read-back could prove it
        searched: list[str] | None = []
        if self.created is None and self.maybe_created:
            searched = self._adopt_by_label()
        held = registry(self.target)
        mine = [i for i in held.pending() if i.run_label == self.run_label]
        if not mine and self.candidate is not None:
            self._unconfirmed(self.candidate)
            return
        if not mine and self.created is None and self.maybe_created:
            self._maybe_left(searched)
            return
        if not mine:
            self.cleanup = {"ok": True, "needed": False}
            return
        left: list[str] = []
        reasons: list[str] = []
        kinds: dict[str, LeftKind] = {}
        for issue in mine:
            done = delete_issue(issue, self.exchanges.append)
            if done.deleted:
                held.forget(issue)
            self.steps.append(
                StepRecord(
                    "delete",
                    "ok" if done.deleted else "failed",
                    issue.key + (f": {done.reason}" if done.reason else ""),
                )
            )
            if not done.deleted:
                left.append(issue.key)
                reasons.append(done.reason)
                if done.kind is not None:
                    kinds[issue.key] = done.kind
        primary = self.created or mine[0]
        self.created = primary
        self.cleanup = {
            "ok": not left,
            "needed": True,
            "confirmed": True,
            "reason": "; ".join(reasons),
            "key": left[0] if left else primary.key,
            "link": f"{self.target.url}/browse/{left[0]}" if left else primary.link,
            "deleted": [i.key for i in mine if i.key not in left],
            "left": left,
            "links": {i.key: i.link for i in mine if i.key in left},
            "kinds": kinds,
        }

    def _maybe_left(self, searched: list[str] | None) -> None:
        """The create reached Jira and no answer showed it refused, but the label search has
        not seen an issue (yet): the run may have left one. It is named by what finds it."""
        jql = label_jql(self.project, self.run_label)
        seen = "did not answer" if searched is None else f"found nothing in {SEARCH_POLL_S:g} s"
        self.steps.append(
            StepRecord("delete", "skipped", f"may have left an issue: the search {jql} {seen}")
        )
        self.cleanup = {
            "ok": False,
            "needed": True,
            "confirmed": False,
            "maybe": True,
            "run_label": self.run_label,
            "jql": jql,
            "waited_s": SEARCH_POLL_S,
            "create_answer": self._create_answer or "no answer",
            "deleted": [],
            "left": [],
        }

    def _read_failed(self) -> str | None:
        """How the read-back of the create's key failed (None: it was never answered)."""
        failure: Mapping[str, object] = self.failure or {}
        return str(failure["status"]) if failure.get("step") == "read" else None

    def _prove_in_cleanup(self, key: str) -> None:
        """The read-back that an interrupt (or the deadline) kept from proving ``key``."""
        result = self.target.http.send(
            "GET", issue_path(key), params={"fields": "project,labels"}, cleanup=True
        )
        self.exchanges.append(result.exchange)
        body, _ = result.json()
        if result.failure is None and result.status == 200 and self._shows_own(key, body):
            self._own(key, seen=True)

    def _unconfirmed(self, key: str) -> None:
        """Jira named ``key`` as created but neither a read-back nor the label search shows it:
        no request is sent to an issue not proven ours, and the key is reported."""
        read = self._read_failed()
        hidden = read is not None and read.startswith("404")
        reason = (
            f"Jira answered the create with {key}, but the bot could neither read it back "
            f"({read or 'no answer'}) nor find it by the run's label {self.run_label}, so the "
            "suite sent it no delete"
        ) + (f"; {ISSUE_SECURITY_CAUSE}" if hidden else "")
        self.steps.append(StepRecord("delete", "failed", f"{key}: not sent: {reason}"))
        self.cleanup = {
            "ok": False,
            "needed": True,
            "confirmed": False,
            "reason": reason,
            "key": key,
            "link": f"{self.target.url}/browse/{key}",
            "deleted": [],
            "left": [key],
            "cause": "issue_security" if hidden else None,
        }


def label_jql(project: str, run_label: str) -> str:
    """The JQL that finds the run's issues: its unique label in the write project."""
    return f"project = {project} AND labels = {run_label}"


def find_by_label(
    http: JiraHttp,
    project: str,
    run_label: str,
    cloud: bool,
    record: Callable[[Exchange], None],
    *,
    wait_s: float = 0.0,
) -> list[str] | None:
    """The keys of the issues in ``project`` carrying the run's label (None: search failed).

    Sent as cleanup: past the run's deadline too (bounded by its own timeout), uncached. An
    empty answer is asked again for ``wait_s`` (a new issue may not be in the index yet: Cloud
    is eventually consistent, Data Center nodes index apart); 0 asks once (an absence check).
    """
    pattern = key_pattern(project)
    params = {"jql": label_jql(project, run_label), "fields": "labels,project"}
    started = time.monotonic()
    while True:
        result = http.send("GET", CLOUD_SEARCH if cloud else DC_SEARCH, params=params, cleanup=True)
        record(result.exchange)
        body, _ = result.json()
        if result.failure is not None or result.status != 200 or not isinstance(body, dict):
            return None
        keys = []
        issues = body.get("issues")
        for issue in issues if isinstance(issues, list) else []:
            fields = issue.get("fields") if isinstance(issue, dict) else None
            if not isinstance(fields, dict):
                continue
            key = issue.get("key")
            labels = fields.get("labels")
            if (
                isinstance(key, str)
                and pattern.fullmatch(key)
                and _plain("project", fields.get("project")) == project
                and isinstance(labels, list)
                and run_label in labels
            ):
                keys.append(key)
        if keys or time.monotonic() - started >= wait_s:
            return keys
        time.sleep(SEARCH_RETRY_S)


def delete_issue(issue: CreatedIssue, record: Callable[[Exchange], None]) -> Deletion:
    """Delete an issue this run proved its own, and prove it gone by reading it back.

    An answer to the delete is only a claim (a WAF answers its own page with 200; a proxy may
    answer 204): deleted means Jira's own 404 (``errorMessages``) to a read-back by key after a
    delete that reached Jira. A 404 to the delete itself is not a deletion: Jira hides from the
    bot what it may not see, so an issue the bot read earlier has left its view (a security
    level set by a transition, a move), which is no proof it is gone. Retries once (DELETE is
    idempotent) after a failure that may be passing.
    """
    path = issue_path(issue.key)
    answered: HttpResult | None = None  # a 2xx answer to the delete
    reason = ""
    for attempt in range(2):
        result = issue.http.send("DELETE", path, cleanup=True)
        record(result.exchange)
        if result.failure is None and result.status is not None and 200 <= result.status < 300:
            answered = result
            break
        if result.failure is None and result.status == 404:
            if issue.seen:
                return Deletion(
                    False,
                    f"Jira answered 404 ({error_messages(result)}) to the delete of an issue the "
                    "bot read earlier in this run: gone from its view, not proven deleted",
                    "vanished",
                )
            return Deletion(
                False,
                "Jira answered 404 to the delete of an issue the bot never read back; "
                + ISSUE_SECURITY_CAUSE,
                "hidden",
            )
        reason = (
            f"no answer: {result.failure.kind}"
            if result.failure
            else f"{result.status}: {error_messages(result)}"
        )
        if result.failure is not None and not result.failure.sent:
            return Deletion(False, reason, "refused")  # held back here: Jira never saw it
        if result.status is not None and result.status < 500 and result.status != 429:
            break  # a refusal: asking again would be refused again
        if attempt == 0:
            time.sleep(DELETE_RETRY_DELAY_S)
    state, shown = read_back(issue, record)
    if state == "gone":
        return Deletion(True)
    if state == "unknown" and not issue.seen and not issue.cloud:
        # Found by label only: Data Center's search (consistent) no longer showing it is proof.
        found = find_by_label(issue.http, issue.project, issue.run_label, False, record)
        if found is not None and issue.key not in found:
            return Deletion(True)
    if answered is not None:
        claim = f"the delete was answered {_answer_shape(answered)}"
        if state == "present":
            return Deletion(False, f"{claim}, but the issue still reads back", "blocked")
        return Deletion(False, f"{claim}, but the read-back {shown}", "unproven")
    if state == "present" or (result.failure is None and result.status is not None):
        return Deletion(False, reason, "refused")
    return Deletion(False, f"{reason}; the read-back {shown}", "unproven")


def read_back(
    issue: CreatedIssue, record: Callable[[Exchange], None]
) -> tuple[Literal["gone", "present", "unknown"], str]:
    """Whether Jira shows the issue gone (its JSON 404 with ``errorMessages``), present (the
    issue itself), or neither; and what the read-back answered, in words."""
    check = issue.http.send(
        "GET", issue_path(issue.key), params={"fields": "summary"}, cleanup=True
    )
    record(check.exchange)
    if check.failure is not None:
        return "unknown", f"got no answer ({check.failure.kind})"
    body, _ = check.json()
    if (
        check.status == 404
        and isinstance(body, dict)
        and isinstance(body.get("errorMessages"), list)
    ):
        return "gone", "answered Jira's 404"
    if check.status == 200 and isinstance(body, dict) and body.get("key") == issue.key:
        return "present", "shows the issue"
    return "unknown", f"answered {_answer_shape(check)}, not Jira's answer about the issue"


def _answer_shape(result: HttpResult) -> str:
    """What came back, in a few words: '302 (a redirect to /login.jsp)', '200 text/html', 'no
    answer (reset)'."""
    if result.failure is not None and result.response is None:
        return f"no answer ({result.failure.kind})"
    location = result.header("Location")
    if location:
        return f"{result.status} (a redirect to {location[:200]})"
    kind = result.content_type or ("with an empty body" if not result.text else "untyped")
    return f"{result.status} {kind}"


def _may_have_created(result: HttpResult) -> bool:
    """Whether a create that got no issue key may still have created one: yes, unless it was
    never sent or Jira itself refused it (a refused login, a rate limit, or Jira's JSON error
    for a 4xx). A lost answer, a redirect, a 5xx or any other answer may hide a created issue."""
    if result.failure is not None and not result.failure.sent:
        return False
    status = result.status
    if status is None:
        return True  # sent, no answer: Jira may have done the work
    if status in (401, 429):
        return False  # refused before any work: authentication, rate limit
    if 400 <= status < 500:
        body, _ = result.json()
        jira_said = isinstance(body, dict) and (
            isinstance(body.get("errorMessages"), list) or isinstance(body.get("errors"), dict)
        )
        return not jira_said
    return True


def _plain(name: str, value: Any) -> Any:
    """A field value as the round trip compares it: names of objects, lists as they are."""
    if name == "project" and isinstance(value, dict):
        return value.get("key")
    if isinstance(value, dict):
        return value.get("name", value)
    return value


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (main thread only), then deliver
    the first one received: a second signal must not stop the delete that the first started."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, _handler(signum, handler))
        if received:
            signal.raise_signal(received[0])  # its own handler now: KeyboardInterrupt, or exit


def _handler(signum: int, handler: Any) -> Any:
    """A handler to restore: one set outside Python (None) becomes the default."""
    if handler is not None:
        return handler
    return signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL


def cleanup_leftovers(target: JiraTarget) -> list[Leftover]:
    """The safety net at the session's end: delete what the round trips could not.

    Returns what it tried, deleted or not; it sets no outcome (the check module's
    ``after_cleanup`` tells the report row). What is still left is named there, so exit does
    not ask Jira again.
    """
    done: list[Leftover] = []
    held = registry(target)
    for issue in held.pending():
        with deferred_interrupts():
            deletion = delete_issue(issue, lambda exchange: None)
        done.append(
            Leftover(
                issue.key,
                issue.project,
                issue.link,
                deletion.deleted,
                deletion.reason,
                deletion.kind,
            )
        )
        held.forget(issue)
    return done


@atexit.register
def _cleanup_at_exit() -> None:
    """Last resort for an issue no session end saw (a crash, a library user)."""
    for live in list(_LIVE):
        for issue in live.pending():
            deletion = delete_issue(issue, lambda exchange: None)
            live.forget(issue)
            if not deletion.deleted:
                print(
                    f"visor-jira-conformance: test issue {issue.key} could not be deleted "
                    f"({deletion.reason}): {issue.link}"
                )
