"""The fetch process against the emulator: one HTTP layer over two processes.

A forked child sends the planned probes and streams their evidence back; the run's process takes
the HTTP layer's state back before it sends anything itself. What is asserted is what Jira saw
(the emulator's request log, in order) and what the run's process knows afterwards.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Any

import pytest

from conformance.emulator import BOT_PASSWORD, BOT_USER
from conformance.engine import fetch, fetch_process
from conformance.engine.fetch import Task
from conformance.engine.fetch_process import FetchProcess, RemoteProbeError
from conformance.evidence import Evidence
from conformance.probes import api, search
from conformance.probes import permissions as perms
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret, login_forms
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

pytestmark = pytest.mark.skipif(
    not fetch_process.enabled(), reason="the fetch process is forked on Linux only"
)


def target_for(url: str, **settings: Any) -> JiraTarget:
    creds = Credentials(BOT_USER, Secret(BOT_PASSWORD), "basic", "password", "JIRA_PASSWORD")
    redactor = Redactor()
    redactor.register(creds.secret)
    return JiraTarget(
        Settings(url=url, credentials=creds, **settings), redactor, load_profile(None)
    )


def survey_tasks(keys: list[str]) -> list[Task]:
    return [Task(perms.survey, (key,)) for key in keys]


def started(target: JiraTarget, tasks: list[Task]) -> FetchProcess:
    assert fetch.dependent_chain(target)
    return FetchProcess(target, tasks).start()


def project_keys(count: int) -> list[str]:
    """The keys of the emulator's generated projects P001... ."""
    return [f"P{n:03d}" for n in range(1, count + 1)]


def surveying(
    jira_emulator: Any, projects: int, latency_ms: float = 0, **settings: Any
) -> tuple[Any, JiraTarget, FetchProcess]:
    """A fetch process planned to survey every one of ``projects`` generated projects."""
    server = jira_emulator("dc-healthy", projects=projects, latency_ms=latency_ms)
    target = target_for(server.url, **settings)
    return server, target, started(target, survey_tasks(project_keys(projects)))


def long_fetch(jira_emulator: Any) -> tuple[Any, JiraTarget, FetchProcess]:
    """A fetch process with far more to send than a test waits for: 200 surveys at 50 ms."""
    return surveying(jira_emulator, 200, latency_ms=50, concurrency=2)


def surveying_with(
    survey: Any, jira_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, JiraTarget, FetchProcess]:
    """A fetch process whose one planned probe, P001's survey, is ``survey`` (inherited at fork)."""
    server = jira_emulator("dc-healthy", projects=3)
    target = target_for(server.url)
    monkeypatch.setattr(perms, "survey", survey)
    return server, target, started(target, [Task(perms.survey, ("P001",))])


def wait_for_requests(server: Any, count: int) -> None:
    """Until Jira has seen ``count`` requests: an order of events, not a clock."""
    while len(server.log.entries) < count:
        threading.Event().wait(0.02)


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_handover_gives_this_process_every_evidence_and_the_whole_http_state(
    jira_emulator: Any,
) -> None:
    server, target, job = surveying(jira_emulator, 12)
    keys = project_keys(12)
    job.wait()
    http = target.http
    assert target.remote is None and http.before_send is None and reaped(job._pid)
    # Every planned probe, and each probe it asked for, came back.
    for key in keys:
        assert target.cached(perms.survey, key) is not None
        assert target.cached(perms.project_permissions, key) is not None
    assert http.counters.requests == len(server.log.entries)
    assert len(http.exchanges) == len(server.log.entries)
    assert http.login_state == "proven"
    # A GET the fetch process sent is not sent again by this one.
    before = len(server.log.entries)
    again = http.get(
        "/rest/api/2/mypermissions", {"projectKey": "P001", "permissions": ",".join(perms.ASKED)}
    )
    assert again.status == 200 and len(server.log.entries) == before
    target.close()


def test_its_extra_workers_never_put_more_requests_in_flight_than_the_concurrency(
    jira_emulator: Any,
) -> None:
    # Two workers per slot: one examines its answer while the other sends. The gate still
    # bounds what Jira sees at once, counted by Jira itself.
    server, target, job = surveying(jira_emulator, 30, latency_ms=30, concurrency=3)
    keys = project_keys(30)
    server.log.clear()  # the chain went one request at a time
    job.wait()
    assert 2 <= server.log.max_in_flight <= 3
    assert all(target.cached(perms.survey, key) is not None for key in keys)
    target.close()


def test_its_threads_pass_the_lock_on_sooner_than_this_process_does(
    jira_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def switch_interval(target: JiraTarget, key: str) -> Evidence:
        return Evidence("test.switch_interval", True, {"seconds": sys.getswitchinterval()})

    _server, target, job = surveying_with(switch_interval, jira_emulator, monkeypatch)
    there = target.probe(perms.survey, "P001").fact("seconds")
    job.close()
    assert there == fetch_process.SWITCH_INTERVAL_S < sys.getswitchinterval()
    target.close()


def test_this_process_takes_the_state_back_before_it_sends_anything(jira_emulator: Any) -> None:
    server, target, job = surveying(jira_emulator, 40, latency_ms=30, concurrency=2)
    result = target.http.get("/rest/api/2/field")  # not planned: this process sends it itself
    assert result.status == 200
    assert target.remote is None and reaped(job._pid)
    # The fetch process finished its queue first: this process's request is Jira's last one.
    assert server.log.entries[-1].path.endswith("/rest/api/2/field")
    assert sum(e.path.endswith("/rest/api/2/field") for e in server.log.entries) == 1
    assert target.http.counters.requests == len(server.log.entries)
    target.close()


def test_a_probe_asked_for_runs_there_and_raises_here_what_it_raised_there(
    jira_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(target: JiraTarget, key: str) -> Evidence:
        raise ValueError(f"no such thing as {key}")

    server, target, job = surveying_with(broken, jira_emulator, monkeypatch)
    with pytest.raises(RemoteProbeError) as raised:
        target.probe(perms.survey, "P001")
    assert "ValueError: no such thing as P001" in raised.value.described
    assert "test_fetch_process.py" in raised.value.described
    # A probe nobody planned is asked for, and runs in the fetch process too.
    sent = len(server.log.entries)
    info = target.probe(api.server_info)  # cached there since the chain
    assert info.ok and len(server.log.entries) == sent
    job.close()
    target.close()


def test_a_stop_ends_the_fetch_process_at_once_and_nothing_more_is_sent(
    jira_emulator: Any,
) -> None:
    server, target, job = long_fetch(jira_emulator)
    wait_for_requests(server, 10)
    job.stop()
    assert reaped(job._pid) and target.http.stopped
    # Whatever it had sent is counted; nothing queued went out afterwards.
    sent = len(server.log.entries)
    assert sent < 200
    late = target.probe(perms.project_permissions, "P200")
    assert len(server.log.entries) == sent
    assert late.failure is not None and late.failure.kind == "interrupted"
    target.close()


def test_a_fetch_process_that_dies_stops_the_run_from_sending(jira_emulator: Any) -> None:
    _server, target, job = long_fetch(jira_emulator)
    os.kill(job._pid, signal.SIGKILL)
    evidence = target.probe(perms.project_permissions, "P199")  # sees it gone: sends nothing
    assert evidence.failure is not None and evidence.failure.kind == "interrupted"
    assert target.http.stopped and reaped(job._pid)
    assert any("fetch process ended" in note for note in target.http.notes)
    target.close()


def test_a_password_changed_mid_run_costs_one_failed_login_over_both_processes(
    jira_emulator: Any,
) -> None:
    server, target, job = surveying(jira_emulator, 60, latency_ms=20, concurrency=4)
    wait_for_requests(server, 12)
    # The admin rotates the password and Jira drops the bot's sessions.
    server.config.world.users[BOT_USER].password = "rotated-by-the-admin"
    server.app.auth.sessions._by_id.clear()
    job.wait()
    assert server.log.failed_logins() == 1
    assert target.http.login_state == "rejected"  # learned there, known here
    sent = len(server.log.entries)
    refused = target.http.get("/rest/api/2/field")  # this process now refuses to send the password
    assert refused.failure is not None and refused.failure.kind == "latched"
    assert len(server.log.entries) == sent and server.log.failed_logins() == 1
    target.close()


def test_the_state_handed_back_carries_no_secret(jira_emulator: Any) -> None:
    server = jira_emulator("dc-healthy", projects=3)
    target = target_for(server.url)
    assert fetch.dependent_chain(target)
    for key in ("P001", "P002"):
        target.probe(perms.survey, key)
    state = pickle.dumps(target.http.export_state())
    for form in login_forms(BOT_USER, BOT_PASSWORD) | {BOT_PASSWORD}:
        assert form.encode() not in state
    target.close()


def test_without_a_second_process_the_run_fetches_in_threads(
    jira_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = jira_emulator("dc-healthy", projects=4)
    target = target_for(server.url)

    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    job = fetch.start_fetching(target, survey_tasks(["P001", "P002", "P003", "P004"]))
    assert isinstance(job, fetch.Prefetch) and target.remote is None
    job.wait()
    assert all(target.cached(perms.survey, f"P00{n}") for n in range(1, 5))
    assert any("could not start" in notice for notice in target.notices)
    target.close()


def test_the_chain_compiles_the_issue_check_meanwhile_and_leaves_no_thread_to_fork(
    jira_emulator: Any,
) -> None:
    # Done while the chain waits on the network, not by the fetch process when its first pages
    # come back; and finished before the chain returns, since a fork may follow at once.
    search._issue_check.cache_clear()
    server = jira_emulator("dc-healthy", projects=2)
    target = target_for(server.url)
    assert fetch.dependent_chain(target)
    assert search._issue_check.cache_info().currsize == 1
    assert not any(thread.name == "prepare" for thread in threading.enumerate())
    target.close()
