"""The test import, the whole run in-process (``tests.runs.run_checks``): servers that clamp, lie
about total, repeat a page, reject the JQL, page with nextPageToken, and rate-limit; each proven
by the JSON result and the emulator's request log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from conformance.emulator import EmulatorServer
from tests.e2e.accounts import BOT, CLOUD_BOT
from tests.runs import JsonRun, run_checks

Emulator = Callable[..., EmulatorServer]
PROJECTS = ("VIS", "OPS", "MKT")
SIZES = {"VIS": 1200, "OPS": 40, "MKT": 15}


def profile(tmp_path: Path, **settings: object) -> str:
    """A profile file with these import settings (the rest as the bundled default)."""
    lines = [
        "name: e2e-import",
        "projects: all-visible",
        "fields:",
        "  read: [summary, status, issuetype, priority, assignee, reporter, created, updated, labels]",
        "import:",
        *(
            f"  {key}: {value!r}" if isinstance(value, str) else f"  {key}: {str(value).lower()}"
            for key, value in settings.items()
        ),
    ]
    path = tmp_path / "profile.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def notes(run: JsonRun, check_id: str, project: str) -> str:
    return "\n".join(run.row(check_id, project)["notes"])


def search_queries(server: EmulatorServer, path: str, project: str) -> list[dict[str, list[str]]]:
    """The query strings of the import's searches of ``project`` (other checks search too)."""
    queries = [parse_qs(e.query) for e in server.log.entries if e.path == path]
    return [q for q in queries if q.get("jql", [""])[0].startswith(f"project = {project} ")]


def test_clamping_server_loses_nothing_and_slow_import_warns(
    jira_emulator: Emulator, tmp_path: Path
) -> None:
    """maxResults 100 asked, 25 served: paging follows Jira's value and reads every issue once."""
    server = jira_emulator("dc-healthy", search_max_results=25)
    slow = profile(
        tmp_path, page_size=100, sample_size=2000, changelog=True, max_full_import_minutes=0.0001
    )
    run = run_checks(server.url, profile=slow, env=BOT)
    for key, size in SIZES.items():
        assert run.outcome("import.search", key) == "pass"
        assert run.outcome("import.pagination", key) == "pass"
        assert run.outcome("import.fields", key) == "pass"
        assert f"read {size} issue(s) of {size}" in notes(run, "import.search", key)
    assert "clamps maxResults to 25 (asked 100)" in notes(run, "import.pagination", "VIS")
    pages = search_queries(server, "/rest/api/2/search", "VIS")
    # Pages are fetched concurrently by offset: each offset exactly once, in whatever order.
    assert sorted(int(q["startAt"][0]) for q in pages) == list(range(0, 1200, 25))
    assert all(q["expand"] == ["changelog"] and q["maxResults"] == ["100"] for q in pages)
    throughput = run.row("import.throughput", "VIS")
    assert throughput["outcome"] == "warn"
    assert {f["code"] for f in throughput["findings"]} == {"IMP_SLOW"}
    assert "issues/s" in notes(run, "import.throughput", "VIS")
    assert "projected full import of 1200 issue(s)" in notes(run, "import.throughput", "VIS")
    assert run.ret == 0  # a warning is not a failure


def test_lying_total_is_a_pagination_failure(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy", search_total_offset=5)
    run = run_checks(server.url, env=BOT)
    assert run.outcome("import.pagination", "OPS") == "fail"
    (found,) = run.row("import.pagination", "OPS")["findings"]
    assert found["code"] == "IMP_PAGINATION"
    assert "total says 45 issues" in found["summary"] and "5 missing" in found["summary"]
    assert run.outcome("import.pagination", "VIS") == "pass"  # a sample cannot see the end
    assert run.ret == 1


def test_repeated_page_is_a_pagination_failure(jira_emulator: Emulator, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy", search_repeat_page_at=10)
    small_pages = profile(tmp_path, page_size=10, sample_size=100)
    run = run_checks(server.url, profile=small_pages, env=BOT)
    summaries = " ".join(f["summary"] for f in run.row("import.pagination", "OPS")["findings"])
    assert run.codes("import.pagination", "OPS") == {"IMP_PAGINATION"}
    assert "startAt=10 repeated 10 issue(s) already read (OPS-1" in summaries
    assert "10 missing" in summaries
    assert run.outcome("import.pagination", "VIS") == "fail"  # the repeat is inside the sample
    assert run.outcome("import.search", "VIS") == "pass"


def test_bad_jql_quotes_jira(jira_emulator: Emulator, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy")
    bad = profile(tmp_path, jql="project = {project} AND nosuchfield = 1")
    run = run_checks(server.url, profile=bad, env=BOT)
    row = run.row("import.search", "VIS")
    assert row["outcome"] == "fail"
    (found,) = row["findings"]
    assert found["code"] == "IMP_SEARCH_FAILED"
    assert "(400)" in found["summary"]
    assert "Field 'nosuchfield' does not exist" in found["summary"]
    assert "import.jql" in found["remediation"]
    for check in ("import.pagination", "import.fields", "import.throughput"):
        assert run.outcome(check, "VIS") == "blocked"


def test_cloud_pages_with_next_page_token(jira_emulator: Emulator) -> None:
    server = jira_emulator("cloud")
    run = run_checks(server.url, env=CLOUD_BOT)
    assert "read 500 issue(s) of 1200 through /rest/api/3/search/jql" in notes(
        run, "import.search", "VIS"
    )
    assert "read 40 issue(s) of 40" in notes(run, "import.search", "OPS")
    assert run.outcome("import.pagination", "VIS") == "pass"
    assert run.outcome("import.fields", "VIS") == "pass"
    sample = [q for q in search_queries(server, "/rest/api/3/search/jql", "VIS") if "fields" in q]
    assert len(sample) == 5
    assert "nextPageToken" not in sample[0] and all("nextPageToken" in q for q in sample[1:])
    assert not [e for e in server.log.entries if e.path == "/rest/api/2/search" and e.status == 200]


def test_rate_limited_import_warns_and_still_counts_right(
    jira_emulator: Emulator, tmp_path: Path
) -> None:
    # A bucket of 10 refilled at 4/s against ~40 requests: the run must wait for the bucket. The
    # suite paces itself by Jira's headers, so (almost) nothing is refused, and the run says once
    # that Jira limited it, with the numbers.
    server = jira_emulator("rate-limited", rate_limit=(10, 4))
    small_pages = profile(tmp_path, page_size=5, sample_size=100)
    run = run_checks(server.url, profile=small_pages, env=BOT)
    refused = sum(1 for e in server.log.entries if e.status == 429)
    assert refused <= max(1, len(server.log.entries) // 50), refused  # at most 2%
    (found,) = run.row("import.rate_limit")["findings"]
    assert found["code"] == "RATE_LIMITED" and "the allowance in requests: 10" in found["summary"]
    assert run.outcome("import.rate_limit") == "warn"
    for key, size in SIZES.items():
        assert f"read {min(size, 100)} issue(s) of {size}" in notes(run, "import.search", key)
        assert run.outcome("import.pagination", key) == "pass"
    assert run.ret == 0
