"""Request plumbing shared by the router (:mod:`.app`) and every endpoint module: ``Ctx``,
Jira's error bodies, the dropped-connection signal and small argument converters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .auth import AuthResult, json_response
from .world import User

if TYPE_CHECKING:
    from .app import JiraApp

JIRA_404_HTML = (
    "<!DOCTYPE html><html><head><title>Oops, you&#39;ve found a dead link. - Jira</title></head>"
    "<body><h1>Oops, you've found a dead link.</h1></body></html>"
)


class DropConnection(Exception):
    """Raised after the socket was shut down, so werkzeug drops the request silently."""


def errors(
    messages: Iterable[str] = (), errs: dict[str, str] | None = None, status: int = 400
) -> Response:
    """Jira's ErrorCollection body ``{"errorMessages":[...],"errors":{...}}``."""
    return json_response({"errorMessages": list(messages), "errors": errs or {}}, status)


class BadBody(Exception):
    """A request body that is not the JSON the resource expects."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Ctx:
    """Per-request context handed to handlers."""

    def __init__(
        self,
        app: JiraApp,
        request: Request,
        path: str,
        auth: AuthResult,
        args: dict[str, Any],
        api_version: str = "2",
    ) -> None:
        self.app = app
        self.request = request
        self.path = path
        self.auth = auth
        self.user: User | None = auth.user
        self.args = args
        self.r = app.renderer(request, api_version)

    def json(self) -> Any:
        """Parse the body as JSON, with Jersey/Jackson's error text on failure."""
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            raise BadBody("No content to map to Object due to end of input")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            text = raw.decode("utf-8", errors="replace")
            pos = getattr(e, "pos", 0) or 0
            ch = text[pos] if pos < len(text) else " "
            raise BadBody(
                f"Unexpected character ('{ch}' (code {ord(ch)})): expected a valid value "
                f"(number, String, array, object, 'true', 'false' or 'null')\n at [Source: "
                f"org.apache.catalina.connector.CoyoteInputStream; line: 1, column: "
                f"{getattr(e, 'colno', 1)}]"
            ) from e

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise BadBody(
                "Can not deserialize instance of java.util.LinkedHashMap out of START_ARRAY token"
            )
        return body

    def list_arg(self, name: str) -> list[str]:
        return list(self.request.args.getlist(name))


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return str(v)


__all__ = ["JIRA_404_HTML", "BadBody", "Ctx", "DropConnection", "_int", "_str", "errors"]
