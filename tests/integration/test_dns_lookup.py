"""The DNS lookup has the run's timeout, and a lookup that never returns never holds the process.

``socket.getaddrinfo`` has no timeout of its own. A pool's worker thread is joined when the
interpreter exits, so a lookup left running in one (a resolver that never answers, or a Ctrl-C
that landed while the lookup started) kept the process alive after its verdict was printed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conformance.probes import network

NEVER_ANSWERS = textwrap.dedent(
    """
    import socket, threading
    from conformance.probes import network

    never = threading.Event()
    socket.getaddrinfo = lambda *args, **kwargs: never.wait()  # a resolver that never answers
    try:
        network._getaddrinfo("jira.example", 443, 0.2)
    except TimeoutError as exc:
        print("timed out:", exc)
    """
)


def test_a_lookup_that_never_returns_times_out_and_the_process_still_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NEVER_ANSWERS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "timed out: getaddrinfo('jira.example') did not return within 0.2 s" in done.stdout


def test_a_lookup_gives_the_resolvers_answer_or_its_error() -> None:
    infos = network._getaddrinfo("127.0.0.1", 443, 5.0)
    assert {info[4][0] for info in infos} == {"127.0.0.1"}
    with pytest.raises(UnicodeError):
        network._getaddrinfo("a" * 300 + ".example", 443, 5.0)  # a label over 63 characters
