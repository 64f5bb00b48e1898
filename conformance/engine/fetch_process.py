"""The scheduler in a second process: the HTTP client's and the decoder's work on another core.

One interpreter lock serves every thread of a process. In a run of a few hundred projects the
fetching threads (requests, JSON decoding, the issue checks) and pytest's main thread (one item
after another, and its reports) took turns on it, so the run took as long as both together.
Forked once the dependent chain has passed, a fetch process runs the same probes with the same
thread pool and HTTP layer, and streams each probe's evidence back over a pipe; this process
judges rows as the evidence arrives. docs/architecture.md ("Two processes") tells why it is safe.

While the fetch process lives it is the only one that sends: every probe this process asks for
is run there (so there is still one gate, one rate-limit mirror, one login latch and one cache
of GETs). Before this process sends anything itself (the write round trip, the safety net's
deletions), it takes the HTTP layer's state back (``handover``) and the fetch process ends.
The write probes never run there: the registry of issues a run created belongs to the run's own
process, with its safety net.

Only where ``fork`` is safe and cheap (Linux); elsewhere :class:`~conformance.engine.fetch.Prefetch`
fetches in threads, as before.
"""

from __future__ import annotations

import concurrent.futures
import gc
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from multiprocessing import Pipe, connection
from typing import TYPE_CHECKING, Any

from conformance.engine.fetch import Task
from conformance.evidence import Evidence
from conformance.http import HttpState

if TYPE_CHECKING:
    from conformance.target import JiraTarget, ProbeKey

# Probes whose module keeps state of the run's own process: never run in the fetch process.
LOCAL_PROBE_MODULES = frozenset({"conformance.probes.write"})
# How often a waiting thread wakes, so that Ctrl-C is handled at once.
WAIT_SLICE_S = 0.2
# How long a stopped fetch process may take to send its state back before it is killed.
STOP_GRACE_S = 2.0
# How long a thread of the fetch process that wants the interpreter lock waits for the one that
# holds it (Python's default is 5 ms): a worker whose answer came back, or that was given a slot
# at the gate, should not wait while another inspects a page of issues. Measured in whole runs:
# 4% faster than the default; 0.2 ms was slower again (docs/architecture.md, "Speed").
SWITCH_INTERVAL_S = 0.0005


# Off only in tests that exercise the threaded scheduler through pytest.
USE_FETCH_PROCESS = True


def enabled() -> bool:
    """fork where it is safe and cheap (Linux); macOS and Windows fetch in threads."""
    return USE_FETCH_PROCESS and sys.platform.startswith("linux") and hasattr(os, "fork")


class RemoteProbeError(Exception):
    """A probe raised in the fetch process; ``described`` says what and where, as run.py would."""

    def __init__(self, described: str) -> None:
        super().__init__(described)
        self.described = described


class FetchProcess:
    """This process's side: the child's pid and pipe, and the evidence that came back."""

    def __init__(self, target: JiraTarget, tasks: Sequence[Task]) -> None:
        self.target = target
        self._tasks = list(tasks)
        # Evidence that came back is in the target's cache; here only what raised there.
        self._failed: dict[ProbeKey, RemoteProbeError] = {}
        self._asked: set[ProbeKey] = set()
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._handover_lock = threading.Lock()
        self._state: HttpState | None = None
        self._gone = False  # no more messages will come: the state came, or the child died
        self._ended = False  # this process holds the HTTP state again (or sends no more)
        self._conn: connection.Connection | None = None
        self._pid = 0

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> FetchProcess:
        mine, theirs = Pipe(duplex=True)
        # The child's garbage collector leaves what it inherits alone, so the pages stay shared.
        # This process keeps them frozen too: they live to the end of the run (modules, the
        # settings, the plan), and walking them again at each full collection cost about 7% of
        # a large run (docs/architecture.md, "Speed").
        gc.freeze()
        with warnings.catch_warnings():
            # Python 3.12+ warns on fork with threads running. Ours (the HTTP watchdog, the demo
            # emulator) hold no lock the child takes: see docs/architecture.md, "Two processes".
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                pid = os.fork()
            except OSError:
                gc.unfreeze()
                mine.close()
                theirs.close()
                raise
        if pid == 0:  # the fetch process: never returns
            mine.close()
            _serve(self.target, self._tasks, theirs)
        theirs.close()
        self._pid, self._conn = pid, mine
        self._asked = {self.target.probe_key(task.fn, task.args) for task in self._tasks}
        self.target.remote = self
        self.target.http.before_send = self.handover
        threading.Thread(target=self._receive, name="fetch-process-reader", daemon=True).start()
        return self

    def takes(self, fn: Callable[..., Evidence]) -> bool:
        """Will this probe run in the fetch process (it is alive, and the probe may run there)?"""
        return not self._ended and fn.__module__ not in LOCAL_PROBE_MODULES

    def fetch(
        self, key: ProbeKey, fn: Callable[..., Evidence], args: tuple[Any, ...]
    ) -> Evidence | None:
        """The probe's evidence from the fetch process (asked for unless already planned); None
        when the process ended without it (stopped first), so the caller runs it here."""
        with self._cond:
            wanted = key not in self._asked
            self._asked.add(key)
        if wanted and not self._send(("probe", key, Task(fn, args))):
            return None  # not sent (the child is gone, or the probe cannot be pickled)
        with self._cond:
            while True:
                got = self.target.cached(fn, *args)
                if got is not None or key in self._failed or self._gone:
                    break
                self._cond.wait(WAIT_SLICE_S)
        if got is None and key in self._failed:
            raise self._failed[key]
        return got

    def handover(self) -> None:
        """Take the HTTP layer's state back; the fetch process finishes what it started and ends.

        Called before this process sends anything itself, and when the run needs no more probes.
        """
        with self._handover_lock:
            if self._ended:
                return
            self._end("handover", wait_s=None)

    def stop(self) -> None:
        """The run is ending early: queued probes are dropped and nothing more is sent."""
        self.target.http.stop()
        with self._handover_lock:
            if not self._ended:
                self._end("stop", wait_s=STOP_GRACE_S)

    # The interface of engine.fetch.Prefetch, which the runners drive.
    def wait(self) -> None:
        self.handover()

    def close(self) -> None:
        if self.target.http.stopped:
            self.stop()
        else:
            self.handover()

    # -- this process's side of the pipe ---------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> bool:
        assert self._conn is not None
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError):  # the child is gone (EOF), or the pipe is closed
            return False
        except (pickle.PicklingError, AttributeError, TypeError):  # e.g. a probe made in a test
            return False
        return True

    def _receive(self) -> None:
        assert self._conn is not None
        try:
            while True:
                message = self._conn.recv()
                kind = message[0]
                with self._cond:
                    if kind == "evidence":
                        self.target.adopt_evidence(message[1], message[2])
                    elif kind == "failed":
                        self._failed.setdefault(message[1], RemoteProbeError(message[2]))
                    elif kind == "state":
                        self._state = message[1]
                    self._cond.notify_all()
                if kind == "state":
                    return
        except (EOFError, OSError):
            return
        finally:
            with self._cond:
                self._gone = True
                self._cond.notify_all()

    def _end(self, how: str, wait_s: float | None) -> None:
        """Ask the child to end (``handover``: after its queue; ``stop``: at once), adopt its
        state, and reap it. A child that died, or does not answer a stop in time, is killed:
        this process then sends nothing more (its HTTP state would be stale)."""
        self._send((how,))
        give_up = None if wait_s is None else time.monotonic() + wait_s
        with self._cond:
            while self._state is None and not self._gone:
                if give_up is not None and time.monotonic() >= give_up:
                    break
                self._cond.wait(WAIT_SLICE_S)
            state = self._state
            self._ended = self._gone = True
            self._cond.notify_all()
        http = self.target.http
        if state is not None:
            http.adopt_state(state)
            self._reap()
        else:
            with suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            http.stop()
            ended = self._reap()
            http.notes.append(
                f"the fetch process ended ({ended}) before it handed back its state: nothing more "
                "was sent, and the request counts leave out what it had sent"
            )
            state_of_run = self.target.run_state
            if state_of_run is not None and state_of_run.interrupted_by is None:
                # The rows it had not fetched cannot be judged: the run did not complete.
                state_of_run.interrupted_by = f"its fetch process ended: {ended}"
        http.before_send = None
        self.target.remote = None
        if self._conn is not None:
            self._conn.close()

    def _reap(self) -> str:
        """Wait for the child to exit; how it ended, in words."""
        try:
            _pid, status = os.waitpid(self._pid, 0)
        except ChildProcessError:
            return "already reaped"
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                return f"killed by {signal.Signals(number).name}"
            except ValueError:
                return f"killed by signal {number}"
        return f"exit status {os.WEXITSTATUS(status)}"


# -- the fetch process ---------------------------------------------------------------------------


def _serve(target: JiraTarget, tasks: Sequence[Task], conn: connection.Connection) -> None:
    """The fetch process's whole life: run the planned probes and any asked for, send back each
    one's evidence, and on ``handover``/``stop`` send the HTTP state and exit. Never returns."""
    code = 0
    try:
        # Ctrl-C and a closed terminal reach the whole process group: the run's own process
        # decides what happens, and tells this one (or its pipe closes, and this one ends).
        for name in ("SIGINT", "SIGHUP", "SIGTERM"):
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, signal.SIG_IGN)
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        target.http.fresh_connections()  # the parent keeps its own sockets
        target.remote = None
        server = _Server(target, conn)
        target.on_evidence = server.publish
        server.run(tasks)
    except BaseException:  # whatever happens, the child must not return to pytest
        code = 1
    finally:
        os._exit(code)


class _Server:
    """The fetch process's main thread reads the pipe; its pool runs the planned probes in plan
    order, as ``fetch.Prefetch`` does, with two workers per request that may be in flight."""

    def __init__(self, target: JiraTarget, conn: connection.Connection) -> None:
        self.target = target
        self.conn = conn
        self.send_lock = threading.Lock()
        # Two workers per slot of the HTTP layer's gate, which still bounds what is in flight:
        # a worker examines its answer (decodes it, inspects a page of issues, sends the
        # evidence back) after it gave its slot back, and the other one sends meanwhile. Here
        # the extra threads cost pytest nothing (fetch.Prefetch, in pytest's process, keeps one).
        workers = max(1, 2 * target.settings.concurrency)
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="probe")
        self.asked: list[threading.Thread] = []

    def run(self, tasks: Sequence[Task]) -> None:
        for task in tasks:
            self.pool.submit(self._probe, task)
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):  # the run's process is gone: so is its run
                return
            if message[0] == "probe":
                # Asked for by a check that is waiting: its own thread, not behind the queue.
                thread = threading.Thread(target=self._probe, args=(message[2],), daemon=True)
                thread.start()
                self.asked.append(thread)
            elif message[0] == "handover":
                self.pool.shutdown(wait=True)
                for thread in self.asked:
                    thread.join()
                self._reply(("state", self.target.http.export_state()))
                return
            elif message[0] == "stop":
                self.target.http.stop()
                self.pool.shutdown(wait=False, cancel_futures=True)
                self._reply(("state", self.target.http.export_state()))
                return

    def _probe(self, task: Task) -> None:
        """Run one probe; its evidence, and that of every probe it asked for, is published."""
        from conformance.engine.run import describe_exception

        try:
            self.target.probe(task.fn, *task.args)
        except Exception as exc:
            key = self.target.probe_key(task.fn, task.args)
            self._reply(("failed", key, describe_exception(exc)))

    def publish(self, key: ProbeKey, evidence: Evidence) -> None:
        """Each new evidence goes to the run's process as soon as it exists: the checks there
        ask for the probes the planned ones asked for (a project's grants, say)."""
        try:
            self._reply(("evidence", key, evidence))
        except Exception as exc:  # evidence that cannot be pickled: a bug, said on the row
            self._reply(("failed", key, "the evidence could not be sent back: " + _one_line(exc)))

    def _reply(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(message)


def _one_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().replace("\n", " ")
