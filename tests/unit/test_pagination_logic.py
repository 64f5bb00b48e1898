"""The paging arithmetic of the test import, page by page, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks.test_import import duration
from conformance.probes.search import IssueInspection, Paging


def issues(project: str, first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": str(10000 + n), "key": f"{project}-{n}"} for n in range(first, first + count)]


def dc_page(start: int, served: int, total: int, page: list[dict[str, Any]]) -> dict[str, Any]:
    return {"startAt": start, "maxResults": served, "total": total, "issues": page}


def page_through_dc(
    paging: Paging, total: int, served: int, repeat_at: int | None = None, lie: int = 0
) -> list[int]:
    """Drive ``paging`` against an imaginary server; returns the startAt values asked for."""
    asked: list[int] = []
    start: int | None = 0
    while start is not None:
        asked.append(start)
        first = start - served if start == repeat_at else start
        page = issues("P", first + 1, max(0, min(served, total - first)))
        start = paging.dc_page(start, dc_page(start, served, total + lie, page))
    paging.finish()
    return asked


def test_clamped_pages_follow_the_served_size() -> None:
    paging = Paging(sample_size=10_000)
    asked = page_through_dc(paging, total=95, served=20)
    assert asked == [0, 20, 40, 60, 80]
    assert paging.server_page_size == 20
    assert (paging.read, len(paging.keys), paging.problems) == (95, 95, [])
    assert paging.exhausted


def test_sample_size_stops_paging_before_the_end() -> None:
    paging = Paging(sample_size=50)
    asked = page_through_dc(paging, total=1000, served=20)
    assert asked == [0, 20, 40]
    assert paging.read == 60 and not paging.exhausted
    assert paging.problems == []  # total cannot be judged from a sample


def test_lying_total_is_caught_at_the_end() -> None:
    paging = Paging(sample_size=10_000)
    page_through_dc(paging, total=40, served=25, lie=3)
    assert paging.problems == [
        "total says 43 issues, but paging to the end returned 40 distinct issues (3 missing)"
    ]


def test_repeated_page_counts_duplicates_and_missing() -> None:
    paging = Paging(sample_size=10_000)
    page_through_dc(paging, total=40, served=10, repeat_at=10)
    assert paging.duplicates == 10
    assert paging.problems[0].startswith("the page at startAt=10 repeated 10 issue(s)")
    assert "(10 missing)" in paging.problems[-1]


def test_wrong_start_echo_and_changing_total() -> None:
    paging = Paging(sample_size=10_000)
    assert paging.dc_page(0, dc_page(5, 10, 30, issues("P", 1, 10))) == 10
    assert paging.dc_page(10, dc_page(10, 10, 31, issues("P", 11, 10))) == 20
    assert paging.problems == ["asked for startAt=0, Jira answered startAt=5"]
    assert paging.notes == ["total changed from 30 to 31 while paging"]


def test_empty_page_ends_paging() -> None:
    paging = Paging(sample_size=10_000)
    assert paging.dc_page(0, dc_page(0, 50, 0, [])) is None
    paging.finish()
    assert paging.exhausted and paging.problems == [] and paging.read == 0


def cloud_page(page: list[dict[str, Any]], token: str | None, last: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"issues": page, "isLast": last}
    if token is not None:
        body["nextPageToken"] = token
    return body


def test_cloud_tokens_until_is_last() -> None:
    paging = Paging(sample_size=10_000)
    assert paging.cloud_page(cloud_page(issues("C", 1, 2), "t1", False)) == "t1"
    assert paging.cloud_page(cloud_page(issues("C", 3, 2), "t2", False)) == "t2"
    assert paging.cloud_page(cloud_page(issues("C", 5, 1), None, True)) is None
    assert paging.exhausted and len(paging.keys) == 5 and paging.problems == []


def test_cloud_token_absent_means_last_even_without_is_last() -> None:
    paging = Paging(sample_size=10_000)
    assert paging.cloud_page({"issues": issues("C", 1, 3)}) is None
    assert paging.exhausted


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (cloud_page(issues("C", 3, 2), "t1", False), "the same nextPageToken twice"),
        (cloud_page([], "t2", False), "was empty, yet isLast is not true"),
    ],
)
def test_cloud_paging_that_cannot_progress_stops_with_a_problem(
    second: dict[str, Any], problem: str
) -> None:
    paging = Paging(sample_size=10_000)
    assert paging.cloud_page(cloud_page(issues("C", 1, 2), "t1", False)) == "t1"
    assert paging.cloud_page(second) is None
    assert problem in paging.problems[0]
    assert not paging.exhausted


def test_problem_examples_are_bounded() -> None:
    paging = Paging(sample_size=10_000)
    same = issues("P", 1, 1)
    for start in range(20):
        paging.dc_page(start, dc_page(start, 1, 100, same))
    assert paging.duplicates == 19
    assert len(paging.problems) == 5


def test_inspection_counts_missing_fields_and_schema_errors() -> None:
    inspection = IssueInspection(field_ids=("summary", "labels"), changelog=True)
    good = {
        "id": "1",
        "key": "P-1",
        "fields": {"summary": "s", "labels": []},
        "changelog": {"histories": []},
    }
    inspection.inspect(good)
    inspection.inspect({"id": "2", "key": "P-2", "fields": {"summary": 5}})
    assert inspection.inspected == 2
    assert inspection.missing == {"labels": 1, "changelog": 1}
    assert inspection.missing_example == {"labels": "P-2", "changelog": "P-2"}
    assert inspection.schema_errors == 1
    assert inspection.schema_examples[0].startswith("P-2 fields/summary:")


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [(40, "40 s"), (600, "10 min"), (3 * 3600 + 20 * 60, "3 h 20 min"), (7200, "2 h")],
)
def test_duration_reads_like_speech(seconds: float, spoken: str) -> None:
    assert duration(seconds) == spoken
