"""Servers that bend one thing at a time, for the HTTP layer's self-tests: a password that stops
working mid-run, answers that trickle in, a server that reflects the Authorization header; and a
file system that is tiny, fills up or turns read-only under a run.

Each counts what it saw on its own side, so tests assert server-side facts (failed logins,
requests, bytes sent) rather than wall-clock times. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from tests.servers import json_response, raw_server, read_head


@dataclass
class RotatingPasswordJira:
    """Authenticates the first ``accept_requests`` requests, then rejects the bot's password (a
    rotated password, an LDAP hiccup) as Jira does: 401 with X-Seraph-LoginReason.

    Like Jira, an accepted basic login opens a session (Set-Cookie JSESSIONID) and a request with
    that cookie alone is authenticated. With ``sessions_survive`` False, sessions end at the same
    moment the password stops working (their requests then get 401, which is not a failed login:
    no password was sent). ``delay_s`` keeps requests in flight together.

    With ``nodes`` > 1 it is a cluster behind a load balancer without sticky sessions: requests
    go to the nodes in turn, and a session is known only on the node that opened it (elsewhere
    the request is anonymous: 401 for /myself, anonymous 200 otherwise, as Jira answers an unknown
    JSESSIONID). ``password_in_flight_max`` counts password requests on the wire at once.
    """

    password: str
    accept_requests: int = 1
    served: int = 0
    sessions_survive: bool = True
    delay_s: float = 0.0
    accepted_logins: int = 0
    rejected_logins: int = 0
    cookie_requests: int = 0
    anonymous_requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    nodes: int = 1
    arrivals: int = 0
    password_in_flight: int = 0
    password_in_flight_max: int = 0
    sessions: set[str] = field(default_factory=set)
    node_of: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(Request(environ))(environ, start_response)

    def app(self, request: Request) -> Response:
        password = request.authorization is not None
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.password_in_flight += password
            self.password_in_flight_max = max(self.password_in_flight_max, self.password_in_flight)
            node = self.arrivals % self.nodes
            self.arrivals += 1
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self._answer(request, node)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.password_in_flight -= password

    def _answer(self, request: Request, node: int) -> Response:
        auth = request.authorization
        sid = request.cookies.get("JSESSIONID")
        with self.lock:
            if auth is not None:
                if auth.password == self.password and self.served < self.accept_requests:
                    self.served += 1
                    self.accepted_logins += 1
                    sid = secrets.token_hex(16)
                    self.sessions.add(sid)
                    self.node_of[sid] = node
                    response = self._ok(auth.username or "")
                    response.set_cookie("JSESSIONID", sid, path="/", httponly=True)
                    return response
                self.rejected_logins += 1
                if not self.sessions_survive:
                    self.sessions.clear()
                return json_response(
                    {"message": "Client must be authenticated", "status-code": 401},
                    401,
                    {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
                )
            if sid is not None:
                self.cookie_requests += 1
                alive = sid in self.sessions and (
                    self.sessions_survive or self.served < self.accept_requests
                )
                if alive and self.node_of.get(sid) == node:
                    self.served += 1
                    return self._ok("visor-bot")
                if alive:  # another node: it does not know the session, so it is anonymous
                    return self._ok("anonymous")
                return json_response({"message": "Client must be authenticated"}, 401)
            self.anonymous_requests += 1
            return json_response({"state": "RUNNING"}, headers={"X-AUSERNAME": "anonymous"})

    @staticmethod
    def _ok(user: str) -> Response:
        return json_response({"name": user}, headers={"X-AUSERNAME": user})


@dataclass
class DripLog:
    """What a dripping server managed to send before the client gave up."""

    bytes_sent: int = 0
    planned: int = 0
    client_gone: bool = False
    done: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def dripping_server(
    mode: str, *, interval_s: float = 0.2, body_bytes: int = 200
) -> Iterator[tuple[str, DripLog]]:
    """A server that answers one byte every ``interval_s``.

    ``mode``: "body-length" (headers at once, then the body with Content-Length),
    "body-close" (headers at once, no Content-Length, the body until the connection closes),
    "headers" (the status line and headers themselves, one byte at a time).
    """
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    body = b'{"state":"RUNNING","pad":"' + b"x" * body_bytes + b'"}'
    if mode == "body-length":
        prompt, drip = head + f"Content-Length: {len(body)}\r\n\r\n".encode(), body
    elif mode == "body-close":
        prompt, drip = head + b"Connection: close\r\n\r\n", body
    elif mode == "headers":
        prompt, drip = b"", head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    else:
        raise ValueError(mode)
    log = DripLog(planned=len(drip))

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            try:
                if read_head(conn) is None:
                    return
                conn.sendall(prompt)
                conn.setblocking(False)
                for byte in drip:
                    if stop.wait(interval_s):
                        return
                    try:  # the client closing its end shows up as EOF on our side
                        if conn.recv(1) == b"":
                            log.client_gone = True
                            return
                    except BlockingIOError:
                        pass
                    conn.sendall(bytes([byte]))
                    log.bytes_sent += 1
            except OSError:
                log.client_gone = True
            finally:
                log.done.set()

    with raw_server(handle, backlog=8) as port:
        yield f"http://127.0.0.1:{port}", log


def reflections(header: str) -> dict[str, str]:
    """Every way a careless server or proxy may echo an Authorization header back."""
    scheme, _, value = header.partition(" ")
    decoded = ""
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError):
            decoded = base64.b64decode(value).decode("utf-8", errors="replace")
    secret = decoded.partition(":")[2] if decoded else value
    return {
        "header": header,
        "value": value,
        "decoded": decoded,
        "secret": secret,
        "path_encoded": quote(secret),  # RFC 3986 path encoding: "/" kept
        "fully_encoded": quote(secret, safe=""),
        "repr": repr(secret),
        "json": json.dumps(secret),
        "json_ascii": json.dumps(secret, ensure_ascii=True),
        "base64_of_header": base64.b64encode(header.encode()).decode(),
        "truncated": repr(secret)[:120] + "..." + repr(secret)[-100:],
    }


@Request.application
def reflecting_jira(request: Request) -> Response:
    """Echoes the Authorization header in every form, in the body and in diagnostic headers."""
    header = request.headers.get("Authorization", "")
    forms = reflections(header)
    return Response(
        json.dumps({"errorMessages": list(forms.values()), "echo": forms}),
        401 if request.path.endswith("/fail") else 200,
        mimetype="application/json",
        headers={
            "X-AUSERNAME": quote(forms["secret"]),
            "WWW-Authenticate": f'Basic realm="{forms["secret"]!a}"',
            "Location": f"/login?pw={forms['fully_encoded']}",
            "Server": forms["path_encoded"],
        },
    )


@contextlib.contextmanager
def tiny_filesystem(size_kib: int) -> Iterator[Path | None]:
    """A tmpfs of ``size_kib`` KiB mounted for the block (None where this process may not mount
    one: not root, no mount(8)), to fill up or turn read-only under a run."""
    import shutil
    import subprocess
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="visor-tiny-fs-"))
    mount = shutil.which("mount")
    mounted = (
        mount is not None
        and os.geteuid() == 0
        and subprocess.run(
            [mount, "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(where)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def fill(folder: Path, leave_bytes: int) -> Path:
    """Fill ``folder``'s file system up to ``leave_bytes`` of free space (a disk filling up)."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler = folder / "filler"
    with filler.open("wb") as stream:
        stream.write(b"\0" * max(0, free - leave_bytes))
    return filler


def remount_read_only(folder: Path) -> None:
    """Turn a mounted tmpfs read-only under a running process (a disk that fails)."""
    import subprocess

    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)
