"""The scheduler: fetch every probe the plan needs, the dependent chain first, then the rest at once.

The chain (``/status`` → serverInfo → ``/myself`` → the project list) decides whether anything
else is worth sending: with no accepted login every credentialed request would be refused (and
the HTTP layer would not send it anyway). After it, every independent probe — each project's
permission survey (grants, create and edit metadata) and its test import — runs concurrently;
the HTTP layer's gate bounds the requests in flight and paces them to Jira's rate limit. Checks
then judge cached evidence and send nothing new, except the few probes a check asks for only
when something failed (the permission scheme's name, say).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.engine.plan import PlannedCheck
from conformance.evidence import AnyEvidence
from conformance.http import TIMEOUT_KINDS
from conformance.probes import account, api, network, projects

if TYPE_CHECKING:
    from conformance.target import JiraTarget

# How often the main thread wakes while it waits, so that Ctrl-C is handled at once.
WAIT_SLICE_S = 0.2


def discover_projects(target: JiraTarget, named: Sequence[str] | None = None) -> list[str]:
    """The projects to check: --jira-project, else the projects the selection's node ids name
    (``named``), else the profile's list, else every visible one.

    The --jira-write-project is always among them: its permissions explain the round trip. The
    visible projects are asked for only if Jira answers at all (a dead host costs one timeout,
    not two) and the bot's login was accepted (so a rejected login is not repeated).
    """
    if target.settings.projects:
        keys = list(target.settings.projects)
    elif named:
        keys = list(named)
    elif target.profile.projects is not None:
        keys = [spec.key for spec in target.profile.projects]
    else:
        keys = _visible(target)
    write_project = target.settings.write_project
    if write_project and write_project not in keys:
        keys.append(write_project)
    return keys


def _visible(target: JiraTarget) -> list[str]:
    if not dependent_chain(target):
        return []
    listing = target.probe(projects.visible_projects)
    return [str(key) for key in listing.facts.get("keys") or []]


def dependent_chain(target: JiraTarget) -> bool:
    """``/status``, serverInfo, ``/myself``, in order; True when the bot's login was accepted."""
    status = target.probe(network.status)
    if status.failure is not None and status.failure.kind not in TIMEOUT_KINDS:
        # Nothing answers at this address (or the deadline passed): nothing else is worth sending.
        return False
    target.probe(api.server_info)
    return target.probe(account.myself).ok


@dataclass(frozen=True)
class Task:
    """One probe to fetch: what ``JiraTarget.probe`` is called with."""

    fn: Callable[..., AnyEvidence]
    args: tuple[Any, ...] = ()


def tasks_for(planned: Iterable[PlannedCheck]) -> list[Task]:
    """The probes the planned rows declare (``@requirement(probes=...)``), each once, in plan
    order: per project for a per-project check, once for an instance-wide one."""
    wanted: dict[Task, None] = {}
    for check in planned:
        args = (check.project,) if check.spec.per_project and check.project else ()
        if check.spec.per_project and not check.project:
            continue  # no project to fetch for: the row says so
        for fn in check.spec.requirement.probes:
            wanted[Task(fn, args)] = None
    return list(wanted)


class Prefetch:
    """The scheduler at work in the background while the checks are judged in plan order.

    A check that needs evidence still being fetched waits for it (the probe cache holds one lock
    per probe and arguments); one that needs evidence not started yet fetches it itself, once.
    So pytest's own work per item overlaps the network's latency instead of adding to it.
    """

    def __init__(self, target: JiraTarget, tasks: Sequence[Task]) -> None:
        self.target = target
        # As many workers as requests may be in flight: more would only wait at the HTTP layer's
        # gate, and each extra waiting thread costs thread switches (GIL hand-offs) that slow the
        # main thread judging the rows (measured: 16 workers for 8 slots, 20% slower overall).
        workers = max(1, min(len(tasks), target.settings.concurrency))
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="probe")
        self._tasks = list(tasks)
        self._started = threading.Event()
        self._chain = threading.Thread(target=self._run, name="probe-chain", daemon=True)

    def start(self) -> Prefetch:
        self._chain.start()
        return self

    def _run(self) -> None:
        try:
            if not dependent_chain(self.target):
                return
            for task in self._tasks:
                self._pool.submit(self.target.probe, task.fn, *task.args)
        except RuntimeError:  # the pool was shut down (the run was interrupted)
            return
        finally:
            self._started.set()

    def wait(self) -> None:
        """Until every probe has finished; in short slices, so that Ctrl-C is handled at once."""
        while not self._started.wait(WAIT_SLICE_S):
            pass
        self._pool.shutdown(wait=True)

    def close(self) -> None:
        """No check is left to judge: probes not started are dropped."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        """The run is ending early: queued probes are dropped and nothing more is sent."""
        self.target.http.stop()
        self.close()


def prefetch(target: JiraTarget, planned: Iterable[PlannedCheck]) -> None:
    """Fetch the evidence of the planned rows and wait for it (the engine's own runner)."""
    job = Prefetch(target, tasks_for(planned)).start()
    try:
        job.wait()
    except BaseException:
        job.stop()
        raise
