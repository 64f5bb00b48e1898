"""Search probes: a test import of one project, paged the way the deployment requires.

Data Center pages ``/rest/api/2/search`` with ``startAt`` and reads back the server's own clamp
on ``maxResults``; Cloud pages ``/rest/api/3/search/jql`` with ``nextPageToken`` (CHANGE-2046
removed ``/search`` there). Pages are streamed: each is inspected and dropped, so the probe keeps
counts, the keys of its bounded sample and a few examples, never the issues themselves. Memory
depends on the profile's sample size, not on the size of the project.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import jsonschema
import jsonschema_rs

from conformance.evidence import Evidence, Exchange, FailureFacts, Problem, record_failure
from conformance.findings import Diagnosis
from conformance.http import HttpResult, RateLimitCounts
from conformance.probes import api, network

if TYPE_CHECKING:
    from conformance.target import JiraTarget

DC_SEARCH = "/rest/api/2/search"
CLOUD_SEARCH = "/rest/api/3/search/jql"
FIELD_LIST = "/rest/api/2/field"
EXAMPLES = 5  # how many examples of each problem the evidence keeps
CLOUD_COUNT_PAGE = 5000  # Cloud returns up to 5,000 ids per page when no fields are asked for
CLOUD_COUNT_MAX_PAGES = 40  # counting stops after 200,000 issues: "more than" is enough then
FIELD_ID = re.compile(r"^(customfield_[0-9]+|[a-z][a-zA-Z0-9]*)$")


def jql_string(value: str) -> str:
    """A JQL string literal by Jira's rules: double-quoted, with backslash and quote escaped.

    A name that ends in a backslash (or holds a quote) otherwise breaks the query, and Jira's
    400 would then be blamed on Jira.
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- pure paging logic (unit-tested without a server) --------------------------------------------


@dataclass
class Paging:
    """What the pages of one search added up to, and where they did not add up."""

    sample_size: int
    keys: set[str] = field(default_factory=set)
    read: int = 0
    pages: int = 0
    duplicates: int = 0
    total: int | None = None
    server_page_size: int | None = None
    exhausted: bool = False  # paging reached the end of the result
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _last_token: str | None = None

    def _take(self, issues: list[Any], where: str) -> None:
        self.pages += 1
        repeated: list[str] = []
        for issue in issues:
            self.read += 1
            key = str(issue.get("key") or issue.get("id")) if isinstance(issue, dict) else "?"
            if key in self.keys:
                self.duplicates += 1
                repeated.append(key)
            else:
                self.keys.add(key)
        if repeated:
            shown = ", ".join(repeated[:3]) + (" …" if len(repeated) > 3 else "")
            self._problem(
                f"the page at {where} repeated {len(repeated)} issue(s) already read ({shown})"
            )

    def _problem(self, text: str) -> None:
        if len(self.problems) < EXAMPLES:
            self.problems.append(text)

    def _sampled(self) -> bool:
        return self.read >= self.sample_size

    def dc_page(self, start_at: int, body: dict[str, Any]) -> int | None:
        """Account for one Data Center page; the next ``startAt``, or None when paging stops.

        The next page starts after the issues actually returned, so a server that clamps
        ``maxResults`` below what was asked loses nothing.
        """
        issues = body.get("issues") or []
        total = body.get("total")
        echoed = body.get("startAt")
        if isinstance(echoed, int) and echoed != start_at:
            self._problem(f"asked for startAt={start_at}, Jira answered startAt={echoed}")
        if isinstance(body.get("maxResults"), int) and self.server_page_size is None:
            self.server_page_size = body["maxResults"]
        if isinstance(total, int):
            if self.total is None:
                self.total = total
            elif total != self.total and len(self.notes) < EXAMPLES:
                self.notes.append(f"total changed from {self.total} to {total} while paging")
                self.total = total
        self._take(issues, f"startAt={start_at}")
        following = start_at + len(issues)
        if not issues or (self.total is not None and following >= self.total):
            self.exhausted = True
            return None
        return None if self._sampled() else following

    def cloud_page(self, body: dict[str, Any]) -> str | None:
        """Account for one Cloud page; the next ``nextPageToken``, or None when paging stops."""
        issues = body.get("issues") or []
        token = body.get("nextPageToken")
        self._take(issues, f"page {self.pages + 1}")
        if body.get("isLast") is True or not token:
            self.exhausted = True
            return None
        if token == self._last_token:
            self._problem(f"Jira returned the same nextPageToken twice (page {self.pages})")
            return None
        if not issues:
            self._problem(f"page {self.pages} was empty, yet isLast is not true")
            return None
        self._last_token = str(token)
        return None if self._sampled() else str(token)

    def finish(self) -> None:
        """Judge what only the end can tell: does ``total`` agree with what was paged?"""
        if self.exhausted and self.total is not None and len(self.keys) != self.total:
            missing = self.total - len(self.keys)
            if missing > 0:
                self._problem(
                    f"total says {self.total} issues, but paging to the end returned "
                    f"{len(self.keys)} distinct issues ({missing} missing)"
                )
            else:
                self._problem(
                    f"total says {self.total} issues, but paging returned {len(self.keys)} distinct issues"
                )


@cache
def _issue_schema() -> dict[str, Any]:
    text = (
        resources.files("conformance.schemas")
        .joinpath("jira", "issue.schema.json")
        .read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _issue_validator() -> jsonschema.Draft202012Validator:
    """The explainer: every error of an issue, with its path, for the evidence."""
    return jsonschema.Draft202012Validator(_issue_schema())


@cache
def _issue_check() -> jsonschema_rs.Draft202012Validator:
    """The fast test: the same schema in jsonschema-rs (about 0.003 ms an issue, against 0.05 ms
    for fastjsonschema and 1.3 ms for jsonschema: a large run reads tens of thousands of issues).

    Nearly every issue conforms; only an issue this rejects is handed to the explainer, so the
    evidence is what jsonschema alone would give, provided this never passes an issue jsonschema
    faults: tests/unit/test_issue_schema.py holds it to that.
    """
    return jsonschema_rs.Draft202012Validator(_issue_schema())


def issue_conforms(issue: Any) -> bool:
    """True when ``issue`` has the shape of the issue schema."""
    try:
        return _issue_check().is_valid(issue)
    except ValueError:  # a value it cannot read (none comes from JSON): the explainer decides
        return False


@dataclass
class IssueInspection:
    """Each issue against the issue schema and the fields Visor reads; counts, not issues."""

    field_ids: tuple[str, ...]
    changelog: bool = False
    inspected: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    missing_example: dict[str, str] = field(default_factory=dict)
    schema_errors: int = 0
    schema_examples: list[str] = field(default_factory=list)

    def inspect(self, issue: Any) -> None:
        self.inspected += 1
        key = issue.get("key", "?") if isinstance(issue, dict) else "?"
        if issue_conforms(issue):
            errors: Iterable[jsonschema.ValidationError] = ()
        else:
            errors = _issue_validator().iter_errors(issue)
        for error in errors:
            self.schema_errors += 1
            if len(self.schema_examples) < EXAMPLES:
                where = "/".join(str(p) for p in error.absolute_path) or "(issue)"
                self.schema_examples.append(f"{key} {where}: {error.message[:200]}")
        fields = issue.get("fields") if isinstance(issue, dict) else None
        present = fields if isinstance(fields, dict) else {}
        for field_id in self.field_ids:
            if field_id not in present:
                self._missing(field_id, key)
        if self.changelog and not (isinstance(issue, dict) and "changelog" in issue):
            self._missing("changelog", key)

    def _missing(self, field_id: str, key: object) -> None:
        self.missing[field_id] = self.missing.get(field_id, 0) + 1
        self.missing_example.setdefault(field_id, str(key))


# -- HTTP ----------------------------------------------------------------------------------------


def deployment_type(target: JiraTarget) -> str | None:
    """ "Server" or "Cloud", as serverInfo told the run (asking it if nobody did yet)."""
    _, known = api.deployment(target)
    if known:
        return known
    anonymous = target.probe(network.server_info_anonymous)
    kind = anonymous.facts.get("deploymentType")
    return str(kind) if kind else None


def field_ids(target: JiraTarget, names: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """The profile's read fields as Jira field ids (names looked up in /field); and the unknown."""
    if all(FIELD_ID.match(name) for name in names):
        return names, []
    result = target.http.get(FIELD_LIST)
    body, _ = result.json()
    by_name = {
        str(f.get("name", "")).lower(): str(f["id"])
        for f in (body if isinstance(body, list) else [])
        if isinstance(f, dict) and "id" in f
    }
    ids: list[str] = []
    unknown: list[str] = []
    for name in names:
        if FIELD_ID.match(name):
            ids.append(name)
        elif name.lower() in by_name:
            ids.append(by_name[name.lower()])
        else:
            unknown.append(name)
    return tuple(ids), unknown


def error_messages(result: HttpResult) -> str:
    """Jira's own words for a failed request: errorMessages, errors, or message."""
    body, _ = result.json()
    parts: list[str] = []
    if isinstance(body, dict):
        parts += [str(m) for m in body.get("errorMessages") or [] if m]
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        if not parts and body.get("message"):
            parts.append(str(body["message"]))
    if not parts:
        text = result.text.strip()
        parts.append(
            text[:200] if text and "json" in result.content_type else f"HTTP {result.status}"
        )
    return "; ".join(parts)


class ImportSampleFacts(FailureFacts, total=False):
    # what was asked
    project: str
    jql: str
    page_size: int
    sample_size: int
    fields: list[str]  # the read fields as Jira field ids
    unknown_fields: list[str]  # read fields /field does not know
    changelog: bool
    # how it was paged (Paging)
    switched_after_410: bool
    endpoint: str
    deployment: Literal["Cloud", "Data Center"]
    pages: int
    issues_read: int
    distinct: int
    duplicates: int
    total: int | None
    total_complete: bool  # Cloud: the count reached the end
    server_page_size: int | None
    exhausted: bool
    pagination_problems: list[str]
    paging_notes: list[str]
    elapsed_s: float
    rate: float | None  # issues per second
    rate_limited_requests: int
    rate_limit: dict[str, str]  # the last X-RateLimit-* headers
    # what the issues looked like (IssueInspection)
    inspected: int
    missing_fields: dict[str, int]  # field id -> issues without it
    missing_example: dict[str, str]  # field id -> an issue key without it
    schema_errors: int
    schema_examples: list[str]
    # where it stopped
    failed_at: str
    schema: tuple[str, str]
    status: int | None
    message: str  # Jira's words for the failed page
    kind: str  # the failed page's answer, as the classifier read it (a classify.Kind value)
    diagnosis: Diagnosis  # ... and what it was, when it was not Jira refusing the query


def import_sample(target: JiraTarget, project: str) -> Evidence[ImportSampleFacts]:
    """Read the profile's sample of ``project`` as Visor's import would, and measure it."""
    settings = target.profile.import_settings
    jql = settings.jql.replace("{project}", project)
    ids, unknown = field_ids(target, target.profile.read_fields)
    cloud = deployment_type(target) == "Cloud"
    paging = Paging(sample_size=settings.sample_size)
    inspection = IssueInspection(field_ids=ids, changelog=settings.changelog)
    facts: ImportSampleFacts = {
        "project": project,
        "jql": jql,
        "page_size": settings.page_size,
        "sample_size": settings.sample_size,
        "fields": list(ids),
        "unknown_fields": unknown,
        "changelog": settings.changelog,
    }
    params: dict[str, Any] = {
        "jql": jql,
        "maxResults": settings.page_size,
        "fields": ",".join(ids) or None,
        "expand": "changelog" if settings.changelog else None,
    }
    pages = _Pages(target, params, paging, inspection)
    started = time.monotonic()
    if not cloud:
        pages.data_center()
        if pages.gone_on_first_page():
            facts["switched_after_410"] = True
            cloud = True
    if cloud:
        pages.cloud()
    shown, failure, where, rate_limited = (
        pages.shown,
        pages.failure,
        pages.where,
        pages.rate_limited,
    )
    elapsed = time.monotonic() - started
    paging.finish()
    facts = {
        **facts,
        "endpoint": CLOUD_SEARCH if cloud else DC_SEARCH,
        "deployment": "Cloud" if cloud else "Data Center",
        "pages": paging.pages,
        "issues_read": paging.read,
        "distinct": len(paging.keys),
        "duplicates": paging.duplicates,
        "total": paging.total,
        "server_page_size": paging.server_page_size,
        "exhausted": paging.exhausted,
        "pagination_problems": paging.problems,
        "paging_notes": paging.notes,
        "elapsed_s": elapsed,
        "rate": paging.read / elapsed if elapsed > 0 and paging.read else None,
        "rate_limited_requests": rate_limited,
        "rate_limit": dict(target.http.rate_limit),
        "inspected": inspection.inspected,
        "missing_fields": inspection.missing,
        "missing_example": inspection.missing_example,
        "schema_errors": inspection.schema_errors,
        "schema_examples": inspection.schema_examples,
    }
    distinct = len(paging.keys)
    paging.keys.clear()
    if pages.wrong_type is not None:
        facts["failed_at"] = where
        facts["schema"] = pages.wrong_type
        return Evidence("search.import_sample", False, facts, shown, problem=Problem.SCHEMA)
    if failure is not None:
        if failure.exchange not in shown:
            shown.append(failure.exchange)
        facts["failed_at"] = where
        facts["status"] = failure.status
        facts["message"] = error_messages(failure)
        if failure.failure is not None:
            record_failure(facts, failure.failure)
        else:  # who answered: Jira refusing the profile's JQL, or a proxy, a lost login...
            verdict = api.judged_result(target, failure, facts["endpoint"], from_profile=True)
            facts["kind"] = verdict.kind.value
            if verdict.diagnosis is not None:
                facts["diagnosis"] = verdict.diagnosis
        return Evidence(
            "search.import_sample",
            False,
            facts,
            shown,
            failure=failure.failure,
            problem=Problem.SEARCH,
        )
    if cloud and not paging.exhausted:
        total, complete = count_cloud(target, jql)
        facts["total"] = total
        facts["total_complete"] = complete
    elif paging.exhausted:
        facts["total"] = distinct if cloud else paging.total
    return Evidence("search.import_sample", True, facts, shown)


class _Pages:
    """The pages of one import search, fetched as the deployment allows and judged in order.

    Data Center: the first page tells ``total`` and the server's clamp on ``maxResults``; the
    following pages of the sample are then fetched concurrently by offset (a window of
    ``--jira-concurrency`` pages at a time) and accounted for in offset order, each inspected and
    dropped. Cloud's token pages can only come one after another.
    """

    def __init__(
        self,
        target: JiraTarget,
        params: dict[str, Any],
        paging: Paging,
        inspection: IssueInspection,
    ) -> None:
        self.target = target
        self.params = params
        self.paging = paging
        self.inspection = inspection
        self.shown: list[Exchange] = []
        self.failure: HttpResult | None = None
        self.wrong_type: tuple[str, str] | None = None
        self.where = ""
        self.rate_limited = 0
        self._gone = False

    def _take(self, result: HttpResult, where: str) -> dict[str, Any] | None:
        """The page's body if it is a usable page, else None with the reason kept."""
        self.where = where
        if result.exchange.attempt > 1 or result.status == 429:
            self.rate_limited += 1
        if self.paging.pages == 0 and result.exchange not in self.shown:
            self.shown.append(result.exchange)
        body, _ = result.json()
        if result.failure is not None or result.status != 200 or not isinstance(body, dict):
            self.failure = result
            return None
        issues = body.get("issues", [])
        if not isinstance(issues, list):
            self.wrong_type = ("issues", f"is {type(issues).__name__}, not a list of issues")
            self.shown.append(result.exchange)
            return None
        for issue in issues:
            self.inspection.inspect(issue)
        return body

    def _dc_get(self, start_at: int) -> HttpResult:
        # send, not get: get keeps every answer for the run, and pages must be dropped.
        return self.target.http.send("GET", DC_SEARCH, params={**self.params, "startAt": start_at})

    def gone_on_first_page(self) -> bool:
        return self._gone

    def data_center(self) -> None:
        first = self._dc_get(0)
        if first.status == 410 and first.failure is None:
            # Cloud although serverInfo was not learned: /search is gone (CHANGE-2046).
            self.shown.append(first.exchange)
            self._gone = True
            return
        body = self._take(first, "startAt=0")
        following = None if body is None else self.paging.dc_page(0, body)
        last_start = 0
        while following is not None:
            step = following - last_start
            end = min(self.paging.total or following + step, self.paging.sample_size)
            window = [following + n * step for n in range(self.target.settings.concurrency)]
            window = [offset for offset in window if offset < end] or [following]
            results = self._fetch_all(window)
            expected: int | None = following
            for offset, result in zip(window, results, strict=True):
                if offset != expected:
                    break  # a short page moved the offsets: go on from where it ended
                body = self._take(result, f"startAt={offset}")
                if body is None:
                    return
                last_start, expected = offset, self.paging.dc_page(offset, body)
                if expected is None:
                    break
            following = expected

    def _fetch_all(self, offsets: list[int]) -> list[HttpResult]:
        if len(offsets) == 1:
            return [self._dc_get(offsets[0])]
        with ThreadPoolExecutor(len(offsets), thread_name_prefix="page") as pool:
            return list(pool.map(self._dc_get, offsets))

    def cloud(self) -> None:
        token: str | None = None
        while True:
            result = self.target.http.send(
                "GET", CLOUD_SEARCH, params={**self.params, "nextPageToken": token}
            )
            body = self._take(result, f"page {self.paging.pages + 1}")
            if body is None:
                return
            token = self.paging.cloud_page(body)
            if token is None:
                return


class RateLimitFacts(RateLimitCounts):
    limited: bool  # some request was refused with 429, paced or told to wait
    stated: dict[str, str]  # the last X-RateLimit-* headers an answer carried


def rate_limit(target: JiraTarget) -> Evidence[RateLimitFacts]:
    """How Jira's rate limit shaped the run so far: 429s, paced requests, waits, the bucket."""
    seen = target.http.counters.rate_limit_json()
    limited = bool(seen["answered_429"] or seen["paced_requests"] or seen["retry_after_waits"])
    facts: RateLimitFacts = {**seen, "limited": limited, "stated": dict(target.http.rate_limit)}
    return Evidence("search.rate_limit", True, facts)


def count_cloud(target: JiraTarget, jql: str) -> tuple[int, bool]:
    """Count a Cloud search by paging ids only (its /search/jql has no ``total``); bounded."""
    count = 0
    token: str | None = None
    for _ in range(CLOUD_COUNT_MAX_PAGES):
        result = target.http.send(
            "GET",
            CLOUD_SEARCH,
            params={"jql": jql, "maxResults": CLOUD_COUNT_PAGE, "nextPageToken": token},
        )
        body, _ = result.json()
        if result.status != 200 or not isinstance(body, dict):
            return count, False
        issues = body.get("issues") or []
        count += len(issues)
        token = body.get("nextPageToken")
        if body.get("isLast") is True or not token or not issues:
            return count, True
    return count, False
