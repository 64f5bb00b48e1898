"""Words the reports print: counts agree in number, Jira's own sentence keeps its one period,
and a rate has its unit."""

from __future__ import annotations

from conformance.findings import finding
from conformance.report.summary import plural

JIRA_SENTENCE = "Please retry after the time given in the Retry-After header."


def test_a_quoted_jira_sentence_does_not_end_in_two_periods() -> None:
    found = finding(
        "API_SCHEMA",
        endpoint="/rest/api/2/mypermissions",
        field="the answer is",
        problem=f"HTTP 429: {JIRA_SENTENCE}",
    )
    assert ".." not in found.summary and "header.)." in found.summary


def test_the_rate_limit_says_what_its_numbers_count() -> None:
    found = finding("RATE_LIMITED", count=3, paced=4, limit="20", fill_rate="5")
    assert "refill 5)" not in found.summary
    assert "the allowance in requests: 20" in found.summary
    assert "the requests added per refill interval: 5" in found.summary


def test_plural_agrees_with_its_count() -> None:
    assert plural(1, "warning") == "1 warning" and plural(2, "warning") == "2 warnings"
    assert plural(1, "warning or blocked row") == "1 warning or blocked row"
