"""A compressed answer never costs more memory than the body limit (issue 23).

urllib3 before 2.6 decompressed a whole fetched chunk in one call: a few kilobytes sent as
``Content-Encoding: gzip, gzip`` grew to gigabytes before the suite's body limit was looked at.
The bound the suite relies on is urllib3's (each read decompresses at most what was asked for),
so ``pyproject.toml`` pins the version that has it, and this test fails on an older one: a real
server sends a nested gzip bomb; the memory the run allocates (traced, not timed) stays a small
multiple of MAX_BODY_BYTES, and the run ends with a finding.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest

from conformance.engine.run import run_all
from conformance.http import MAX_BODY_BYTES
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget
from tests.hostile_jira import BOT_PASSWORD, BOT_USER, HostileJira, Reply

INFLATED_BYTES = 256 * 1024 * 1024  # 16 times the body limit
SERVER_INFO = "/rest/api/2/serverInfo"


@pytest.fixture(scope="module")
def nested_bomb() -> bytes:
    """gzip(gzip(256 MiB of zeros)): about 1 KB on the wire."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    chunk = b"\0" * (1024 * 1024)
    parts = [inner.compress(chunk) for _ in range(INFLATED_BYTES // len(chunk))]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


@pytest.fixture
def bombing_jira(nested_bomb: bytes) -> Iterator[HostileJira]:
    headers = {"Content-Type": "application/json;charset=UTF-8", "Content-Encoding": "gzip, gzip"}
    with HostileJira({SERVER_INFO: lambda req: Reply(200, nested_bomb, headers)}) as server:
        yield server


def target_at(url: str) -> JiraTarget:
    creds = Credentials(BOT_USER, Secret(BOT_PASSWORD), "basic", "password", "test")
    settings = Settings(url=url, credentials=creds, concurrency=2)
    return JiraTarget(settings, Redactor(), load_profile(None))


def test_a_nested_gzip_bomb_is_read_to_the_body_limit_and_no_further(
    bombing_jira: HostileJira, nested_bomb: bytes
) -> None:
    assert len(nested_bomb) < 64 * 1024
    target = target_at(bombing_jira.url)
    tracemalloc.start()
    try:
        result = target.http.get(SERVER_INFO, credentialed=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        target.close()
    assert result.exchange.body_truncated, "cut at the body limit"
    assert len(result.response.content) <= MAX_BODY_BYTES + 1024 * 1024  # type: ignore[union-attr]
    assert peak < 4 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB allocated for one answer"


def test_a_run_against_a_gzip_bomb_ends_with_a_finding_in_bounded_memory(
    bombing_jira: HostileJira,
) -> None:
    target = target_at(bombing_jira.url)
    tracemalloc.start()
    try:
        result = run_all(target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        target.close()
    assert peak < 6 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB allocated by the run"
    codes = {f.code for r in result.rows for f in r.findings}
    assert codes & {"API_NOT_JSON", "API_SCHEMA", "NET_NOT_JIRA"}, [
        (r.label, r.outcome, [f.code for f in r.findings]) for r in result.rows
    ]
