"""Authentication as Jira does it: basic, bearer PATs, session cookies, CAPTCHA, Cloud tokens.

Decisions where the wire facts are UNCONFIRMED:

* A wrong basic password answers 401 with ``X-Seraph-LoginReason: AUTHENTICATED_FAILED`` and
  Seraph's HTML page "Basic Authentication Failure - Reason : AUTHENTICATED_FAILED".
* Three failed logins lock the user behind a CAPTCHA (Jira's default threshold); from then on
  every basic request of that user (right password or not) is denied with
  ``AUTHENTICATION_DENIED``; PATs are never subject to the CAPTCHA.
* Before 8.14 an ``Authorization: Bearer`` header is not understood: the request is anonymous
  (so ``/myself`` answers 401, public resources answer the anonymous view).
* An unknown or expired PAT answers 401 with the ``{"message","status-code"}`` body.
* Cloud: a password instead of an API token answers 401 with the plain-text deprecation notice;
  a bearer token answers 401 "Client must be authenticated to access this resource.".
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from .scenarios import ScenarioConfig
from .world import User

CAPTCHA_THRESHOLD = 3
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."
BASIC_DISABLED = "Basic Authentication has been disabled on this instance."
CLOUD_PASSWORD_DEPRECATED = (
    "Basic authentication with passwords is deprecated.  For more information, see: "
    "https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/"
)
_FAILED_HTML = (
    "<html><head><title>Unauthorized (401)</title></head><body><h1>Unauthorized (401)</h1>"
    "<p>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</p></body></html>"
)


def failed_login_response(*, challenge: bool) -> Response:
    """Seraph's 401 HTML page for rejected basic credentials (with a challenge when a user was named)."""
    headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    if challenge:
        headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
    return Response(
        _FAILED_HTML, status=401, content_type="text/html;charset=UTF-8", headers=headers
    )


def json_response(body: object, status: int, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Jira's content type."""
    import json

    return Response(
        json.dumps(body, separators=(",", ":"), check_circular=False),
        status=status,
        headers=headers,
        content_type="application/json;charset=UTF-8",
    )


def not_authenticated(headers: dict[str, str] | None = None) -> Response:
    """Jira's 401 body for anonymous requests to resources that need a user."""
    return json_response({"message": NOT_AUTHENTICATED, "status-code": 401}, 401, headers)


@dataclass
class AuthResult:
    """Who the request is from, or the response that rejects it."""

    user: User | None = None
    scheme: str | None = None
    error: Response | None = None
    login_failed: bool = False
    claimed_user: str | None = None  # for the log when the login was rejected
    extra_headers: dict[str, str] = field(default_factory=dict)


class Sessions:
    """Cookie sessions from ``POST /rest/auth/1/session`` (cookie name ``JSESSIONID``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, str] = {}

    def create(self, user: User) -> str:
        sid = secrets.token_hex(16).upper()
        with self._lock:
            self._by_id[sid] = user.name
        return sid

    def get(self, sid: str) -> str | None:
        with self._lock:
            return self._by_id.get(sid)

    def drop(self, sid: str) -> None:
        with self._lock:
            self._by_id.pop(sid, None)


def captcha_headers(login_url: str) -> dict[str, str]:
    """The headers Jira sends while a user must pass a CAPTCHA."""
    return {
        "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
        "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={login_url}",
    }


class Authenticator:
    """Resolves a request's identity for one scenario."""

    def __init__(self, cfg: ScenarioConfig, captcha_status: int = 403) -> None:
        self.cfg = cfg
        self.captcha_status = captcha_status
        self.sessions = Sessions()

    @staticmethod
    def decode_basic(value: str) -> tuple[str, str] | None:
        """``user:password`` from a Basic header value, None when malformed."""
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        user, sep, pw = raw.partition(":")
        return (user, pw) if sep else None

    def record_failure(self, user: User | None) -> None:
        """Count a failed login; the third one arms the CAPTCHA."""
        if user is None:
            return
        with self.cfg.world.lock:
            user.failed_logins += 1
            if user.failed_logins >= CAPTCHA_THRESHOLD:
                user.captcha = True

    def check_password(self, login: str, password: str, login_url: str) -> AuthResult:
        """Validate DC credentials (basic header or session login) with CAPTCHA accounting."""
        world = self.cfg.world
        user = world.user_by_login(login) if not self.cfg.personality.cloud else None
        if user is None:
            user = world.users.get(login)
        if user is not None and user.captcha:
            hdrs = captcha_headers(login_url)
            if self.captcha_status == 200:
                return AuthResult(None, None, None, True, login, hdrs)
            return AuthResult(
                None,
                "basic",
                json_response(
                    {"message": NOT_AUTHENTICATED, "status-code": self.captcha_status},
                    self.captcha_status,
                    hdrs,
                )
                if self.captcha_status != 403
                else Response(
                    "<html><body><h1>Forbidden (403)</h1><p>CAPTCHA_CHALLENGE</p></body></html>",
                    status=403,
                    headers=hdrs,
                    content_type="text/html;charset=UTF-8",
                ),
                True,
                login,
            )
        if user is None or not user.active or user.password != password:
            self.record_failure(user)
            return AuthResult(
                None,
                "basic",
                failed_login_response(challenge=True),
                True,
                login,
            )
        with world.lock:
            user.failed_logins = 0
            user.login_count += 1
        return AuthResult(user, "basic", extra_headers={"X-Seraph-LoginReason": "OK"})

    def authenticate(self, request: Request, login_url: str) -> AuthResult:
        """Identify the request's user, or produce the rejection Jira would send."""
        cfg = self.cfg
        if cfg.anonymous_fallback:
            return AuthResult()
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if cfg.personality.cloud:
            return self._cloud(scheme, value)
        if scheme == "basic":
            creds = self.decode_basic(value)
            if not cfg.basic_auth_enabled:
                return AuthResult(
                    None,
                    "basic",
                    json_response({"message": BASIC_DISABLED}, 403),
                    False,
                    creds[0] if creds else None,
                )
            if creds is None:
                return AuthResult(
                    None,
                    "basic",
                    failed_login_response(challenge=False),
                    True,
                )
            return self.check_password(creds[0], creds[1], login_url)
        if scheme == "bearer" and cfg.personality.pats:
            user = cfg.world.user_by_token(value.strip())
            if user is None or not user.active:
                return AuthResult(
                    None,
                    "bearer",
                    not_authenticated({"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}),
                    True,
                )
            return AuthResult(user, "bearer")
        sid = request.cookies.get("JSESSIONID")
        if sid and not header:
            name = self.sessions.get(sid)
            user = cfg.world.users.get(name) if name else None
            if user is not None:
                return AuthResult(user, "cookie")
            if request.path.startswith(cfg.context_path + "/rest/") and not request.path.endswith(
                "/rest/auth/1/session"
            ):
                return AuthResult(None, "cookie", not_authenticated())
        return AuthResult()

    def _cloud(self, scheme: str, value: str) -> AuthResult:
        world = self.cfg.world
        if scheme == "bearer":
            return AuthResult(None, "bearer", not_authenticated(), True)
        if scheme != "basic":
            return AuthResult()
        creds = self.decode_basic(value)
        if creds is None:
            return AuthResult(None, "basic", not_authenticated(), True)
        user = world.user_by_login(creds[0])
        if user is not None and any(t.raw == creds[1] for t in user.tokens):
            return AuthResult(user, "basic")
        if user is not None and user.password == creds[1]:
            return AuthResult(
                None,
                "basic",
                Response(
                    CLOUD_PASSWORD_DEPRECATED, status=401, content_type="text/plain;charset=UTF-8"
                ),
                True,
                creds[0],
            )
        return AuthResult(None, "basic", not_authenticated(), True, creds[0])
