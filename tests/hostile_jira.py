"""A small Jira that bends one answer at a time, on a real socket, for diagnosis self-tests.

It speaks just enough HTTP/1.1 by hand (one request per connection) to do what a WSGI server
cannot: reset a connection, hold one open without a word, send bytes that are not UTF-8. By
default it answers like a healthy Data Center 10.3 for the bot ``visor-bot`` /
``visor-bot-password``; a test replaces the answer of any path with ``bend={path: handler}``.

It counts failed logins itself (credentialed requests it refused as a wrong password, or under
a CAPTCHA), so a test can prove the suite sent at most one, from the server's side.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.emulator.proxy import accept_each
from tests.servers import read_head

BOT_USER = "visor-bot"
BOT_PASSWORD = "visor-bot-password"
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")

    @property
    def basic(self) -> tuple[str, str] | None:
        scheme, _, value = self.authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    failed_login: bool = False  # the server counts this answer as a failed login
    repeated: tuple[tuple[str, str], ...] = ()  # headers sent more than once (Set-Cookie)


RESET = "reset"  # close the connection with a TCP reset, no answer
HANG = "hang"  # hold the connection open and never answer
Handler = Callable[[Req], "Reply | str | None"]  # None: the healthy answer


def reply_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Reply(status, data, {"Content-Type": JSON_TYPE, **(headers or {})})


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", {"Location": location})


SERVER_INFO = {
    "baseUrl": "",
    "version": "10.3.12",
    "versionNumbers": [10, 3, 12],
    "deploymentType": "Server",
    "buildNumber": 10030012,
    "serverTitle": "Jira",
}
MYSELF = {
    "name": BOT_USER,
    "key": "JIRAUSER10100",
    "displayName": "Visor Bot",
    "emailAddress": "visor-bot@example.com",
    "active": True,
    "groups": {"size": 1, "items": [{"name": "jira-software-users"}]},
}


class HostileJira:
    """``with HostileJira(bend={...}) as jira: run_suite(jira.url)``."""

    def __init__(self, bend: dict[str, Handler] | None = None) -> None:
        self.bend = dict(bend or {})
        self.log: list[tuple[str, str, bool, int | str]] = []
        self.failed_logins = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []

    def __enter__(self) -> HostileJira:
        accept_each(self._listener, self._stop, self._serve)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
        self._listener.close()

    # -- the healthy Jira ------------------------------------------------------------------------

    def healthy(self, req: Req) -> Reply:
        path = req.path
        if path == "/status":
            return reply_json({"state": "RUNNING"})
        if path == "/rest/api/2/serverInfo":
            return reply_json({**SERVER_INFO, "baseUrl": self.url})
        if path.startswith("/rest/"):
            if not req.authorization:
                return reply_json(
                    {"message": "Client must be authenticated.", "status-code": 401}, 401
                )
            if req.basic != (BOT_USER, BOT_PASSWORD):
                return Reply(
                    401,
                    b"<html><body>Basic Authentication Failure</body></html>",
                    {"Content-Type": "text/html", "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
                    failed_login=True,
                )
            return self._bot_answer(req)
        return Reply(404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"})

    def _bot_answer(self, req: Req) -> Reply:
        who = {"X-AUSERNAME": BOT_USER}
        path = req.path
        if path == "/rest/api/2/myself":
            return reply_json(MYSELF, headers=who)
        if path == "/rest/api/2/mypermissions":
            keys = [k for k in req.query.get("permissions", "").split(",") if k]
            perms = {k: {"key": k, "havePermission": k == "BROWSE_PROJECTS"} for k in keys}
            return reply_json({"permissions": perms}, headers=who)
        if path == "/rest/api/2/project":
            return reply_json([{"id": "10000", "key": "VIS", "name": "Visor"}], headers=who)
        if path in ("/rest/api/2/search", "/rest/api/2/search/jql"):
            return reply_json(
                {"startAt": 0, "maxResults": 1, "total": 0, "issues": []}, headers=who
            )
        return reply_json({"errorMessages": [f"null for uri: {path}"], "errors": {}}, 404, who)

    # -- the socket side ---------------------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            req = _read_request(conn)
        except OSError:
            conn.close()
            return
        if req is None:
            conn.close()
            return
        bent = self.bend.get(req.path)
        answer = bent(req) if bent is not None else None
        if answer is None:
            answer = self.healthy(req)
        with self._lock:
            status: int | str = answer if isinstance(answer, str) else answer.status
            self.log.append((req.method, req.path, bool(req.authorization), status))
            if isinstance(answer, Reply) and answer.failed_login and req.authorization:
                self.failed_logins += 1
        if answer == RESET:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        if answer == HANG:
            self._held.append(conn)
            return
        assert isinstance(answer, Reply)
        head = f"HTTP/1.1 {answer.status} X\r\nContent-Length: {len(answer.body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in [*answer.headers.items(), *answer.repeated])
        head += "Connection: close\r\n\r\n"
        with contextlib.suppress(OSError):
            conn.sendall(head.encode("utf-8") + answer.body)
        conn.close()


def _read_request(conn: socket.socket) -> Req | None:
    data = read_head(conn)
    if data is None:
        return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    method, target, _ = [*lines[0].split(" "), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return Req(method, parts.path, dict(parse_qsl(parts.query)), headers)


@contextlib.contextmanager
def hostile_jira(**bend: Handler) -> Iterator[HostileJira]:
    """``hostile_jira(**{"/rest/api/2/myself": handler})``: a HostileJira for one test."""
    with HostileJira(bend) as server:
        yield server
