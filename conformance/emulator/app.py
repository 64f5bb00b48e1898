"""The WSGI application: Jira REST v2 routing, gates (faults, SSO, CAPTCHA, rate limits), log.

Every answer is Jira-shaped: unknown REST paths get Jersey's ``{"message":"null for uri: ..."}``
404, bad JSON bodies a 400 with ``errorMessages``, unexpected exceptions a 500 JSON body;
never a Python traceback page.

Decisions where the wire facts are UNCONFIRMED are noted on the handlers.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import jql as jqlmod
from .auth import (
    Authenticator,
    AuthResult,
    captcha_headers,
    json_response,
    not_authenticated,
)
from .faults import FaultSet
from .log import LoggedRequest, RequestLog
from .render import Renderer, resolve_fields
from .scenarios import ScenarioConfig
from .wizard import Wizard
from .world import (
    DEFAULT_PRIORITY,
    DEPRECATED_ALIASES,
    FIELDS,
    FIELDS_BY_ID,
    ISSUE_TYPES,
    ISSUE_TYPES_BY_ID,
    ISSUE_TYPES_BY_NAME,
    PERMISSIONS,
    PRIORITIES,
    STATUS_CATEGORIES,
    STATUSES,
    TRANSITIONS,
    Grant,
    Project,
    User,
    World,
    jira_time,
    now,
)

API = "/rest/api/<any('2','latest','3'):v>"
CHANGE_2046 = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
TOMCAT_404 = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 404 \u2013 Not Found</title></head>'
    '<body><h1>HTTP Status 404 \u2013 Not Found</h1><hr class="line" /><p><b>Type</b> Status '
    "Report</p><p><b>Description</b> The origin server did not find a current representation "
    "for the target resource or is not willing to disclose that one exists.</p><hr "
    'class="line" /><h3>Apache Tomcat</h3></body></html>'
)
STARTING_HTML = (
    "<!DOCTYPE html><html><head><title>Jira - Starting</title></head><body>"
    '<div id="jira-starting"><h1>Jira is starting</h1><p>Jira is starting up. '
    "Please wait and refresh this page.</p></div></body></html>"
)
JIRA_404_HTML = (
    "<!DOCTYPE html><html><head><title>Oops, you&#39;ve found a dead link. - Jira</title></head>"
    "<body><h1>Oops, you've found a dead link.</h1></body></html>"
)


class DropConnection(Exception):
    """Raised after the socket was shut down, so werkzeug drops the request silently."""


def _rules() -> list[Rule]:
    r = Rule
    return [
        r("/status", endpoint="status", methods=["GET"]),
        r("/", endpoint="root", methods=["GET"]),
        r("/login.jsp", endpoint="login_page", methods=["GET", "POST"]),
        r("/secure/Dashboard.jspa", endpoint="dashboard", methods=["GET"]),
        r("/secure/<page>", endpoint="secure_page", methods=["GET", "POST"]),
        r(f"{API}/serverInfo", endpoint="server_info", methods=["GET"]),
        r(f"{API}/myself", endpoint="myself", methods=["GET"]),
        r(f"{API}/mypermissions", endpoint="mypermissions", methods=["GET"]),
        r(f"{API}/permissions", endpoint="all_permissions", methods=["GET"]),
        r(f"{API}/project", endpoint="projects", methods=["GET"]),
        r(f"{API}/project", endpoint="create_project", methods=["POST"]),
        r(f"{API}/project/search", endpoint="project_search", methods=["GET"]),
        r(f"{API}/project/<key>", endpoint="project", methods=["GET"]),
        r(
            f"{API}/project/<key>/permissionscheme",
            endpoint="project_scheme",
            methods=["GET", "PUT"],
        ),
        r(f"{API}/search", endpoint="search", methods=["GET", "POST"]),
        r(f"{API}/search/jql", endpoint="search_jql", methods=["GET", "POST"]),
        r(f"{API}/issue", endpoint="create_issue", methods=["POST"]),
        r(f"{API}/issue/createmeta", endpoint="createmeta", methods=["GET"]),
        r(
            f"{API}/issue/createmeta/<pkey>/issuetypes",
            endpoint="createmeta_types",
            methods=["GET"],
        ),
        r(
            f"{API}/issue/createmeta/<pkey>/issuetypes/<tid>",
            endpoint="createmeta_fields",
            methods=["GET"],
        ),
        r(f"{API}/issue/<key>", endpoint="issue", methods=["GET", "PUT", "DELETE"]),
        r(f"{API}/issue/<key>/comment", endpoint="comments", methods=["GET", "POST"]),
        r(f"{API}/issue/<key>/comment/<cid>", endpoint="comment", methods=["GET", "PUT", "DELETE"]),
        r(f"{API}/issue/<key>/transitions", endpoint="transitions", methods=["GET", "POST"]),
        r(f"{API}/issue/<key>/editmeta", endpoint="editmeta", methods=["GET"]),
        r(f"{API}/field", endpoint="fields", methods=["GET"]),
        r(f"{API}/priority", endpoint="priorities", methods=["GET"]),
        r(f"{API}/status", endpoint="statuses", methods=["GET"]),
        r(f"{API}/statuscategory", endpoint="statuscategories", methods=["GET"]),
        r(f"{API}/issuetype", endpoint="issuetypes", methods=["GET"]),
        r(f"{API}/resolution", endpoint="resolutions", methods=["GET"]),
        r(f"{API}/user", endpoint="user", methods=["GET"]),
        r(f"{API}/user", endpoint="create_user", methods=["POST"]),
        r(f"{API}/permissionscheme", endpoint="schemes", methods=["GET", "POST"]),
        r(f"{API}/permissionscheme/<int:sid>", endpoint="scheme", methods=["GET"]),
        r("/rest/auth/1/session", endpoint="session", methods=["GET", "POST", "DELETE"]),
        r("/rest/pat/<any('latest','1.0'):pv>/tokens", endpoint="tokens", methods=["GET", "POST"]),
        r(
            "/rest/pat/<any('latest','1.0'):pv>/tokens/<int:tid>",
            endpoint="token",
            methods=["DELETE"],
        ),
    ]


URL_MAP = Map(_rules(), strict_slashes=False, merge_slashes=False)
_PUBLIC_ENDPOINTS = frozenset(
    {
        "status",
        "root",
        "login_page",
        "dashboard",
        "secure_page",
        "server_info",
        "projects",
        "project",
        "project_search",
        "search",
        "search_jql",
        "issue",
        "comments",
        "fields",
        "priorities",
        "statuses",
        "statuscategories",
        "issuetypes",
        "resolutions",
        "mypermissions",
        "all_permissions",
        "session",
        "createmeta",
        "createmeta_types",
        "createmeta_fields",
        "transitions",
        "editmeta",
    }
)


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
        self, app: JiraApp, request: Request, path: str, auth: AuthResult, args: dict[str, Any]
    ) -> None:
        self.app = app
        self.request = request
        self.path = path
        self.auth = auth
        self.user: User | None = auth.user
        self.args = args
        self.r = app.renderer(request)

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
        return [v for v in self.request.args.getlist(name) if v is not None]


class RateLimiter:
    """Data Center's per-user token bucket (capacity, tokens per second)."""

    def __init__(self, capacity: int, fill_rate: float) -> None:
        self.capacity = capacity
        self.fill_rate = fill_rate
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, user: str) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_seconds)."""
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(user, (float(self.capacity), t))
            tokens = min(float(self.capacity), tokens + (t - last) * self.fill_rate)
            if tokens >= 1:
                tokens -= 1
                self._buckets[user] = (tokens, t)
                return True, int(tokens), 0
            self._buckets[user] = (tokens, t)
            wait = max(1, int((1 - tokens) / self.fill_rate + 0.999))
            return False, 0, wait

    def headers(self, remaining: int, retry_after: int) -> dict[str, str]:
        fill = self.fill_rate
        return {
            "X-RateLimit-Limit": str(self.capacity),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Interval-Seconds": "1",
            "X-RateLimit-FillRate": str(int(fill)) if float(fill).is_integer() else str(fill),
            "Retry-After": str(retry_after),
        }


class JiraApp:
    """One emulated Jira instance as a WSGI callable."""

    def __init__(
        self,
        cfg: ScenarioConfig,
        log: RequestLog,
        faults: FaultSet,
        *,
        latency_ms: float = 0,
        captcha_status: int = 403,
        search_max_results: int = 1000,
        search_total_offset: int = 0,
        search_repeat_page_at: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.world: World = cfg.world
        self.log = log
        self.faults = faults
        self.latency = latency_ms / 1000.0
        self.captcha_status = captcha_status
        self.search_max_results = search_max_results
        self.search_total_offset = search_total_offset
        self.search_repeat_page_at = search_repeat_page_at
        self.auth = Authenticator(cfg, captcha_status)
        self.limiter = RateLimiter(*cfg.rate_limit) if cfg.rate_limit else None
        self.wizard = Wizard(self) if cfg.first_run else None
        self.configured_base_url: str | None = cfg.base_url
        self._req_ids = itertools.count(1)
        self.started = time.time()

    # -- helpers --------------------------------------------------------------------------------
    def base_url(self, request: Request) -> str:
        """The base URL self links use: the configured one, else as requested."""
        if self.configured_base_url:
            return self.configured_base_url.rstrip("/")
        return request.host_url.rstrip("/") + self.cfg.context_path

    def renderer(self, request: Request) -> Renderer:
        return Renderer(self.base_url(request), self.cfg.personality.cloud)

    def login_url(self, request: Request) -> str:
        return request.host_url.rstrip("/") + self.cfg.context_path + "/login.jsp"

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        entry: dict[str, Any] = {"user": None, "auth": None, "login_failed": False}
        try:
            response = self.handle(request, environ, entry)
        except DropConnection:
            self._log(request, entry, 0)
            raise ConnectionResetError("fault injection dropped the connection") from None
        except Exception:  # pragma: no cover - the catch-all must never leak a traceback page
            traceback.print_exc()
            response = errors(["Internal server error"], status=500)
        response.headers["X-AREQUESTID"] = f"{next(self._req_ids)}x1"
        self._log(request, entry, response.status_code)
        return response(environ, start_response)

    def _log(self, request: Request, entry: dict[str, Any], status: int) -> None:
        self.log.append(
            LoggedRequest(
                request.method,
                request.path,
                request.query_string.decode("latin-1"),
                entry["user"],
                entry["auth"],
                status,
                entry["login_failed"],
            )
        )

    def handle(self, request: Request, environ: dict[str, Any], entry: dict[str, Any]) -> Response:
        if self.latency:
            time.sleep(self.latency)
        raw_path = request.path
        if raw_path.startswith("/_idp/"):
            return self.idp_page(request)
        ctx_path = self.cfg.context_path
        if ctx_path:
            if raw_path != ctx_path and not raw_path.startswith(ctx_path + "/"):
                return Response(TOMCAT_404, status=404, content_type="text/html;charset=utf-8")
            path = raw_path[len(ctx_path) :] or "/"
        else:
            path = raw_path
        fault = self.faults.match(request.method, path)
        if fault is not None:
            if fault.drop:
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                raise DropConnection()
            status = fault.status or 500
            return errors([f"Injected fault: HTTP {status}"], status=status)
        if self.cfg.not_running and path != "/status":
            return Response(STARTING_HTML, status=503, content_type="text/html;charset=UTF-8")
        if self.wizard is not None and not self.wizard.done:
            answer = self.wizard.handle(request, path)
            if answer is not None:
                return answer
        if self.cfg.sso and path != "/status":
            redirect = self.sso_gate(request, path)
            if redirect is not None:
                return redirect
        try:
            adapter = URL_MAP.bind(request.host or "localhost")
            endpoint, args = adapter.match(path, method=request.method)
        except MethodNotAllowed as e:
            return Response(b"", status=405, headers={"Allow": ", ".join(e.valid_methods or [])})
        except NotFound:
            endpoint, args = None, {}
        except HTTPException as e:  # pragma: no cover
            return errors([e.description or "error"], status=e.code or 400)

        if endpoint in (None, "status", "root", "login_page", "secure_page", "dashboard"):
            auth = AuthResult()
        else:
            auth = self.auth.authenticate(request, self.login_url(request))
        entry["auth"] = auth.scheme
        entry["login_failed"] = auth.login_failed
        entry["user"] = auth.user.name if auth.user else None
        if auth.error is not None:
            return auth.error
        extra = dict(auth.extra_headers)

        if endpoint is None:
            if path.startswith("/rest/"):
                url = request.host_url.rstrip("/") + raw_path
                resp = json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
            else:
                resp = Response(JIRA_404_HTML, status=404, content_type="text/html;charset=UTF-8")
            return self._finish(resp, auth, extra, limited=False)

        limited = bool(self.limiter and auth.user is not None and endpoint != "server_info")
        if limited:
            assert self.limiter is not None and auth.user is not None
            ok, remaining, retry = self.limiter.take(auth.user.name)
            extra.update(self.limiter.headers(remaining, retry))
            if not ok:
                resp = json_response(
                    {
                        "message": "Rate limit exceeded. Please retry after the time given in the "
                        "Retry-After header.",
                        "status-code": 429,
                    },
                    429,
                )
                return self._finish(resp, auth, extra, limited=True)

        api_v = args.pop("v", "2")
        if api_v == "3" and not self.cfg.personality.cloud:
            url = request.host_url.rstrip("/") + raw_path
            resp = json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
            return self._finish(resp, auth, extra, limited)
        ctx = Ctx(self, request, path, auth, args)
        handler = getattr(self, "ep_" + endpoint)
        if auth.user is None and endpoint not in _PUBLIC_ENDPOINTS:
            resp = not_authenticated()
        else:
            try:
                resp = handler(ctx, **args)
            except BadBody as e:
                resp = errors([e.message])
            except jqlmod.JqlError as e:
                resp = errors([e.message])
        if ctx.auth.login_failed:
            entry["login_failed"] = True
            entry["user"] = entry["user"] or ctx.auth.claimed_user
        return self._finish(resp, auth, extra, limited)

    def _finish(
        self, resp: Response, auth: AuthResult, extra: dict[str, str], limited: bool
    ) -> Response:
        """Identity headers: DC sends ``X-AUSERNAME`` (url-encoded name, or ``anonymous``) on
        every answer. Cloud has no user names (GDPR), so it sends ``X-AACCOUNTID`` for
        authenticated calls and nothing for anonymous ones (a decision: UNCONFIRMED)."""
        for k, v in extra.items():
            resp.headers[k] = v
        if self.cfg.personality.cloud:
            if auth.user is not None:
                resp.headers["X-AACCOUNTID"] = auth.user.account_id
        else:
            resp.headers["X-AUSERNAME"] = quote(auth.user.name) if auth.user else "anonymous"
        return resp

    # -- gates --------------------------------------------------------------------------------
    def sso_gate(self, request: Request, path: str) -> Response | None:
        """SAML SSO: /rest and UI pages without a valid bearer token go to the IdP.

        The redirect carries ``SAMLRequest`` and ``RelayState``; the IdP page is served by this
        server at ``/_idp/saml/login`` so that following the redirect stays local.
        """
        if not (
            path.startswith("/rest/") or path in ("/login.jsp", "/") or path.startswith("/secure/")
        ):
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.world.user_by_token(value.strip()):
            return None
        saml = base64.b64encode(
            f'<samlp:AuthnRequest ID="_{next(self._req_ids)}" Version="2.0"/>'.encode()
        ).decode()
        relay = request.url
        loc = (
            request.host_url.rstrip("/")
            + "/_idp/saml/login?"
            + urlencode({"SAMLRequest": saml, "RelayState": relay})
        )
        return Response(b"", status=302, headers={"Location": loc})

    def idp_page(self, request: Request) -> Response:
        """A tiny identity-provider login page (the target of the SSO redirect)."""
        return Response(
            "<!DOCTYPE html><html><head><title>Sign in - Example Identity Provider</title></head>"
            '<body><form method="post" action="/_idp/saml/login"><input name="username"/>'
            '<input name="password" type="password"/><button>Sign in</button></form>'
            "</body></html>",
            status=200,
            content_type="text/html;charset=UTF-8",
        )

    # -- public pages -------------------------------------------------------------------------
    def ep_status(self, ctx: Ctx) -> Response:
        state = "STARTING" if self.cfg.not_running else "RUNNING"
        return json_response({"state": state}, 200)

    def ep_root(self, ctx: Ctx) -> Response:
        base = ctx.request.host_url.rstrip("/") + self.cfg.context_path
        return Response(b"", status=302, headers={"Location": base + "/secure/Dashboard.jspa"})

    def ep_dashboard(self, ctx: Ctx) -> Response:
        return Response(
            "<!DOCTYPE html><html><head><title>System Dashboard - Jira</title>"
            "</head><body><h1>System Dashboard</h1></body></html>",
            content_type="text/html;charset=UTF-8",
        )

    def ep_secure_page(self, ctx: Ctx, page: str) -> Response:
        return Response(JIRA_404_HTML, status=404, content_type="text/html;charset=UTF-8")

    def ep_login_page(self, ctx: Ctx) -> Response:
        return Response(
            '<!DOCTYPE html><html><head><title>Log in - Jira</title><meta name="application-name"'
            ' content="JIRA" data-name="jira" data-version="'
            f'{self.cfg.personality.version}"></head><body id="jira" class="aui-layout">'
            '<form id="login-form" method="post" action="login.jsp"><input name="os_username"/>'
            '<input name="os_password" type="password"/><input type="submit" value="Log In"/>'
            "</form></body></html>",
            content_type="text/html;charset=UTF-8",
        )

    # -- server info and identity -------------------------------------------------------------
    def ep_server_info(self, ctx: Ctx) -> Response:
        """serverInfo; anonymous callers get the same body (what is dropped is UNCONFIRMED)."""
        p = self.cfg.personality
        t = now()
        body: dict[str, Any] = {
            "baseUrl": self.base_url(ctx.request),
            "version": p.version,
            "versionNumbers": p.version_numbers,
            "deploymentType": p.deployment_type,
            "buildNumber": p.build_number,
            "buildDate": "2025-01-15T00:00:00.000+0000",
        }
        if not p.cloud:
            body["databaseBuildNumber"] = p.build_number
        body.update(
            {
                "serverTime": jira_time(t),
                "scmInfo": "95508b3a08ac0f09fbef8676c203b44bdc6e1a12",
                "serverTitle": p.server_title,
            }
        )
        if p.cloud:
            body["defaultLocale"] = {"locale": "en_US"}
            body["serverTimeZone"] = "Etc/UTC"
        return json_response(body, 200)

    def ep_myself(self, ctx: Ctx) -> Response:
        return json_response(ctx.r.user(ctx.user, full=True), 200)

    def ep_user(self, ctx: Ctx) -> Response:
        name = ctx.request.args.get("username") or ctx.request.args.get("key") or ""
        acct = ctx.request.args.get("accountId")
        u = None
        if acct:
            u = next((x for x in self.world.users.values() if x.account_id == acct), None)
        else:
            u = self.world.users.get(name) or next(
                (x for x in self.world.users.values() if x.key == name), None
            )
        if u is None:
            return errors([f"The user named '{name or acct}' does not exist"], status=404)
        return json_response(ctx.r.user(u, full=True), 200)

    def ep_create_user(self, ctx: Ctx) -> Response:
        """Admin-only user creation (used by seeding automation for a real Jira)."""
        if not (ctx.user and ctx.user.admin):
            return errors(["The user does not have the permission to create a user."], status=403)
        body = ctx.json_object()
        errs: dict[str, str] = {}
        name = str(body.get("name") or "")
        if not name:
            errs["username"] = "You must specify a username."
        if not body.get("emailAddress"):
            errs["email"] = "You must specify an email address."
        if not body.get("displayName"):
            errs["displayName"] = "You must specify a full name."
        if name and name in self.world.users:
            errs["username"] = "A user with that username already exists."
        if errs:
            return errors([], errs)
        u = self.world.add_user(
            name, str(body.get("password") or ""), body["displayName"], body["emailAddress"]
        )
        return json_response(ctx.r.user(u, full=True), 201)

    # -- permissions --------------------------------------------------------------------------
    def _perm_bean(
        self, key: str, have: bool, deprecated: bool = False, alias: str | None = None
    ) -> dict[str, Any]:
        pid, name, kind = PERMISSIONS[key]
        d = {
            "id": pid,
            "key": alias or key,
            "name": name,
            "type": kind,
            "description": f"Ability to {name.lower()}.",
            "havePermission": have,
        }
        if deprecated:
            d["deprecatedKey"] = True
        return d

    def ep_mypermissions(self, ctx: Ctx) -> Response:
        """DC ignores ``permissions`` and returns every key plus deprecated aliases;
        Cloud requires ``permissions`` (400 without it) and returns only those keys."""
        args = ctx.request.args
        project: Project | None = None
        cloud = self.cfg.personality.cloud
        if args.get("projectKey") or args.get("projectId"):
            ident = args.get("projectKey") or args.get("projectId") or ""
            project = self.world.project(ident)
            if project is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", project):
                what = "key" if args.get("projectKey") else "id"
                return errors([f"No project could be found with {what} '{ident}'."], status=404)
        elif args.get("issueKey") or args.get("issueId"):
            ident = args.get("issueKey") or args.get("issueId") or ""
            ref = self.world.parse_key(ident)
            if ref is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", ref[0]):
                return errors(["Issue Does Not Exist"], status=404)
            project = ref[0]
        wanted = [k.strip() for k in (args.get("permissions") or "").split(",") if k.strip()]
        if cloud and not wanted:
            return errors(["The 'permissions' query parameter is required."])
        out: dict[str, Any] = {}
        if cloud:
            for k in wanted:
                if k not in PERMISSIONS:
                    return errors([f"Unrecognized permission key: {k}"])
                out[k] = self._perm_bean(k, self.world.has(ctx.user, k, project))
            return json_response({"permissions": out}, 200)
        for k in PERMISSIONS:
            out[k] = self._perm_bean(k, self.world.has(ctx.user, k, project))
        for alias, k in DEPRECATED_ALIASES.items():
            out[alias] = self._perm_bean(k, self.world.has(ctx.user, k, project), True, alias)
        return json_response({"permissions": out}, 200)

    def ep_all_permissions(self, ctx: Ctx) -> Response:
        return json_response(
            {
                "permissions": {
                    k: {"key": k, "name": n, "type": t, "description": f"Ability to {n.lower()}."}
                    for k, (_, n, t) in PERMISSIONS.items()
                }
            },
            200,
        )

    def _scheme_bean(self, ctx: Ctx, sid: int) -> dict[str, Any]:
        s = self.world.schemes[sid]
        return {
            "expand": "permissions,user,group,projectRole,field,all",
            "id": s.id,
            "self": f"{ctx.r.api}/permissionscheme/{s.id}",
            "name": s.name,
            "description": s.description,
            "permissions": [
                {
                    "id": i + 1,
                    "holder": {"type": g.holder_type, "parameter": g.parameter},
                    "permission": g.permission,
                }
                for i, g in enumerate(s.grants)
            ],
        }

    def ep_schemes(self, ctx: Ctx) -> Response:
        if not (ctx.user and ctx.user.admin):
            return errors(
                [
                    "You are not authorized to perform this action. Administrator "
                    "privileges are required."
                ],
                status=403,
            )
        if ctx.request.method == "GET":
            return json_response(
                {
                    "permissionSchemes": [
                        self._scheme_bean(ctx, sid) for sid in sorted(self.world.schemes)
                    ]
                },
                200,
            )
        body = ctx.json_object()
        name = str(body.get("name") or "").strip()
        if not name:
            return errors([], {"name": "Permission scheme name cannot be empty."})
        if any(s.name == name for s in self.world.schemes.values()):
            return errors([f"A permission scheme with the name '{name}' already exists."])
        grants = []
        for g in body.get("permissions") or []:
            holder = (g or {}).get("holder") or {}
            perm = str((g or {}).get("permission") or "")
            perm = DEPRECATED_ALIASES.get(perm, perm)
            if perm not in PERMISSIONS:
                return errors([f"Permission '{perm}' does not exist."])
            grants.append(Grant(str(holder.get("type") or "user"), holder.get("parameter"), perm))
        s = self.world.add_scheme(name, grants)
        s.description = str(body.get("description") or "")
        return json_response(self._scheme_bean(ctx, s.id), 201)

    def ep_scheme(self, ctx: Ctx, sid: int) -> Response:
        if not (ctx.user and ctx.user.admin):
            return errors(["You are not authorized to perform this action."], status=403)
        if sid not in self.world.schemes:
            return errors([f"Permission scheme with id '{sid}' does not exist."], status=404)
        return json_response(self._scheme_bean(ctx, sid), 200)

    def ep_project_scheme(self, ctx: Ctx, key: str) -> Response:
        p = self._visible_project(ctx, key)
        if p is None:
            return errors([f"No project could be found with key '{key}'."], status=404)
        if ctx.request.method == "GET":
            return json_response(self._scheme_bean(ctx, p.scheme_id), 200)
        if not (ctx.user and ctx.user.admin):
            return errors(["You cannot edit the configuration of this project."], status=403)
        body = ctx.json_object()
        try:
            sid = int(body.get("id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return errors([], {"id": "A permission scheme id is required."})
        if sid not in self.world.schemes:
            return errors([f"Permission scheme with id '{sid}' does not exist."], status=404)
        p.scheme_id = sid
        return json_response(self._scheme_bean(ctx, sid), 200)

    # -- projects -----------------------------------------------------------------------------
    def _visible_project(self, ctx: Ctx, ident: str) -> Project | None:
        p = self.world.project(ident)
        if p is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", p):
            return None
        return p

    def ep_projects(self, ctx: Ctx) -> Response:
        """DC: a flat array of every project the caller may browse (no paging)."""
        full = "lead" in (ctx.request.args.get("expand") or "")
        return json_response(
            [
                ctx.r.project(p, full, self.world.users.get(p.lead))
                for p in self.world.visible_projects(ctx.user)
            ],
            200,
        )

    def ep_project_search(self, ctx: Ctx) -> Response:
        """The paged project list (Cloud's replacement; DC 8.x+ has it too)."""
        start = _int(ctx.request.args.get("startAt"), 0)
        size = min(_int(ctx.request.args.get("maxResults"), 50), 100)
        ps = self.world.visible_projects(ctx.user)
        page = ps[start : start + size]
        is_last = start + size >= len(ps)
        body: dict[str, Any] = {
            "self": ctx.request.url,
            "maxResults": size,
            "startAt": start,
            "total": len(ps),
            "isLast": is_last,
            "values": [ctx.r.project(p) for p in page],
        }
        if not is_last:
            body["nextPage"] = (
                f"{ctx.r.api}/project/search?startAt={start + size}&maxResults={size}"
            )
        return json_response(body, 200)

    def ep_project(self, ctx: Ctx, key: str) -> Response:
        p = self._visible_project(ctx, key)
        if p is None:
            what = "id" if key.isdigit() else "key"
            return errors([f"No project could be found with {what} '{key}'."], status=404)
        return json_response(ctx.r.project(p, True, self.world.users.get(p.lead)), 200)

    def ep_create_project(self, ctx: Ctx) -> Response:
        """Admin-only project creation; the new project uses the (empty) default scheme
        unless ``permissionScheme`` names one."""
        if not (ctx.user and ctx.user.admin):
            return errors(
                ["You must have global administrator rights in order to modify projects."],
                status=401 if ctx.user is None else 403,
            )
        body = ctx.json_object()
        key = str(body.get("key") or "")
        name = str(body.get("name") or "")
        errs: dict[str, str] = {}
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", key):
            errs["projectKey"] = (
                "Project keys must start with an uppercase letter, followed by "
                "one or more uppercase alphanumeric characters."
            )
        elif key in self.world.projects:
            errs["projectKey"] = f"Project '{key}' uses this project key."
        if not name:
            errs["projectName"] = "You must specify a valid project name."
        elif any(p.name == name for p in self.world.projects.values()):
            errs["projectName"] = "A project with that name already exists."
        if not body.get("projectTypeKey") and not body.get("projectTemplateKey"):
            errs["projectType"] = "A project type must be specified."
        lead = str(body.get("lead") or body.get("leadAccountId") or "")
        if lead and lead not in self.world.users:
            errs["projectLead"] = "The user you have specified as project lead does not exist."
        if errs:
            return errors([], errs)
        scheme = _int(body.get("permissionScheme"), 0)
        if scheme not in self.world.schemes:
            scheme = 0
        p = self.world.add_project(key, name, 0, scheme, lead=lead or ctx.user.name)
        p.project_type = str(body.get("projectTypeKey") or "software")
        p.description = str(body.get("description") or "")
        return json_response({"self": f"{ctx.r.api}/project/{p.id}", "id": p.id, "key": p.key}, 201)

    # -- reference lists ----------------------------------------------------------------------
    def ep_fields(self, ctx: Ctx) -> Response:
        return json_response(
            [
                {
                    "id": f.id,
                    **({"key": f.id} if self.cfg.personality.cloud else {}),
                    "name": f.name,
                    "custom": f.custom,
                    "orderable": f.orderable,
                    "navigable": f.navigable,
                    "searchable": True,
                    "clauseNames": list(f.clause_names),
                    "schema": f.schema,
                }
                for f in FIELDS
            ],
            200,
        )

    def ep_priorities(self, ctx: Ctx) -> Response:
        return json_response(
            [
                dict(ctx.r.priority(p), description=n, statusColor="#cccccc")
                for p, n in PRIORITIES.items()
            ],
            200,
        )

    def ep_statuses(self, ctx: Ctx) -> Response:
        return json_response([ctx.r.status(s) for s in STATUSES], 200)

    def ep_statuscategories(self, ctx: Ctx) -> Response:
        return json_response(
            [
                {"self": f"{ctx.r.api}/statuscategory/{c['id']}", **c}
                for c in STATUS_CATEGORIES.values()
            ],
            200,
        )

    def ep_issuetypes(self, ctx: Ctx) -> Response:
        return json_response([ctx.r.issuetype(t) for t in ISSUE_TYPES], 200)

    def ep_resolutions(self, ctx: Ctx) -> Response:
        return json_response(
            [
                {
                    "self": f"{ctx.r.api}/resolution/10000",
                    "id": "10000",
                    "description": "Work has been completed on this issue.",
                    "name": "Done",
                }
            ],
            200,
        )

    # -- search -------------------------------------------------------------------------------
    def _search_params(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.request.method == "POST":
            body = ctx.json_object()
            fields = body.get("fields")
            if isinstance(fields, str):
                fields = [fields]
            expand = body.get("expand")
            if isinstance(expand, list):
                expand = ",".join(str(x) for x in expand)
            return {
                "jql": body.get("jql") or "",
                "startAt": body.get("startAt"),
                "maxResults": body.get("maxResults"),
                "fields": fields,
                "expand": expand or "",
                "nextPageToken": body.get("nextPageToken"),
            }
        a = ctx.request.args
        return {
            "jql": a.get("jql") or "",
            "startAt": a.get("startAt"),
            "maxResults": a.get("maxResults"),
            "fields": a.getlist("fields") if "fields" in a else None,
            "expand": ",".join(a.getlist("expand")),
            "nextPageToken": a.get("nextPageToken"),
        }

    def ep_search(self, ctx: Ctx) -> Response:
        """DC search: maxResults defaults to 50 and is clamped silently to the server maximum
        (1000); ``total`` is the true count. On Cloud the endpoint is gone: 410 CHANGE-2046."""
        if self.cfg.personality.cloud:
            return errors([CHANGE_2046], status=410)
        prm = self._search_params(ctx)
        start = _int(prm["startAt"], 0)
        if start < 0:
            start = 0
        size = _int(prm["maxResults"], 50)
        if size < 0:
            size = 50
        size = min(size, self.search_max_results)
        query = jqlmod.parse(str(prm["jql"]))
        result = jqlmod.Executor(self.world, ctx.user).run(query)
        total = len(result)
        page_start = start
        if self.search_repeat_page_at is not None and start == self.search_repeat_page_at:
            page_start = max(0, start - size)
        refs = result.page(page_start, size)
        fields = resolve_fields(prm["fields"] or [], "*navigable")
        expand = {e.strip() for e in str(prm["expand"]).split(",") if e.strip()}
        users = self.world.users
        issues = [ctx.r.issue(self.world.issue(p, n), users, fields, expand) for p, n in refs]
        body: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": total + self.search_total_offset,
            "issues": issues,
        }
        if "names" in expand:
            body["names"] = {f: FIELDS_BY_ID[f].name for f in fields}
        if "schema" in expand:
            body["schema"] = {f: FIELDS_BY_ID[f].schema for f in fields}
        return json_response(body, 200)

    def ep_search_jql(self, ctx: Ctx) -> Response:
        """Cloud's enhanced search: ``nextPageToken`` (absent on the last page), ``isLast``,
        no ``total``; only ids unless ``fields`` is given. Not on Data Center (404)."""
        if not self.cfg.personality.cloud:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        prm = self._search_params(ctx)
        jql_text = str(prm["jql"] or "")
        query = jqlmod.parse(jql_text)
        if query.where is None:
            return errors(
                [
                    "Unbounded JQL queries are not allowed here. Please add a search "
                    "restriction to your query."
                ]
            )
        token = prm.get("nextPageToken")
        start = 0
        if token:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(str(token) + "==="))["o"])
            except (ValueError, KeyError, TypeError):
                return errors(["The provided next page token is invalid or expired."])
        field_values = [f for f in (prm["fields"] or []) if f]
        fields = resolve_fields(field_values, "*navigable") if field_values else []
        cap = 5000 if not fields else 100
        size = max(1, min(_int(prm["maxResults"], 50), cap))
        result = jqlmod.Executor(self.world, ctx.user).run(query)
        refs = result.page(start, size)
        expand = {e.strip() for e in str(prm["expand"]).split(",") if e.strip()}
        issues = []
        for p, n in refs:
            if fields:
                issues.append(ctx.r.issue(self.world.issue(p, n), self.world.users, fields, expand))
            else:
                issues.append({"id": str(p.issue_id(n))})
        body: dict[str, Any] = {"issues": issues}
        if start + size < len(result):
            body["nextPageToken"] = (
                base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode())
                .decode()
                .rstrip("=")
            )
            body["isLast"] = False
        else:
            body["isLast"] = True
        return json_response(body, 200)

    # -- issues -------------------------------------------------------------------------------
    def _issue_ref(self, ctx: Ctx, key: str) -> tuple[Project, int] | None:
        ref = self.world.parse_key(key)
        if ref is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", ref[0]):
            return None
        return ref

    def _user_field(self, value: Any) -> User | str | None:
        """Resolve ``{"name":..}``/``{"accountId":..}``/None; returns the bad name if unknown."""
        if value is None:
            return None
        if isinstance(value, dict):
            ident = value.get("name") or value.get("accountId") or value.get("key")
        else:
            ident = value
        if ident in (None, "", "-1"):
            return None
        u = self.world.users.get(str(ident)) or next(
            (x for x in self.world.users.values() if x.account_id == ident), None
        )
        return u if u is not None else str(ident)

    def _apply_fields(
        self,
        fields: dict[str, Any],
        updates: dict[str, Any],
        *,
        creating: bool,
        project: Project,
        issuetype_name: str,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate and convert request field values into stored values."""
        out: dict[str, Any] = {}
        errs: dict[str, str] = {}
        for fid, value in fields.items():
            fd = FIELDS_BY_ID.get(fid)
            settable = fd is not None and (fd.on_create if creating else fd.on_edit)
            if fid in ("project", "issuetype") and creating:
                continue
            if not settable:
                errs[fid] = (
                    f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                )
                continue
            if fid == "summary":
                if not isinstance(value, str) or not value.strip():
                    errs["summary"] = "You must specify a summary of the issue."
                elif "\n" in value:
                    errs["summary"] = (
                        "The summary is invalid because it contains newline characters."
                    )
                else:
                    out["summary"] = value
            elif fid == "description":
                out["description"] = None if value is None else str(value)
            elif fid == "labels":
                if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                    errs["labels"] = "Could not find valid 'id' or 'name' in labels object."
                elif any(" " in x for x in value):
                    bad = next(x for x in value if " " in x)
                    errs["labels"] = f"The label '{bad}' contains spaces which is invalid."
                else:
                    out["labels"] = list(value)
            elif fid == "priority":
                pid = None
                if isinstance(value, dict):
                    pid = str(value.get("id") or "") or next(
                        (k for k, n in PRIORITIES.items() if n == value.get("name")), None
                    )
                if pid not in PRIORITIES:
                    errs["priority"] = "The priority selected is invalid."
                else:
                    out["priority"] = pid
            elif fid in ("assignee", "reporter"):
                u = self._user_field(value)
                if isinstance(u, str):
                    errs[fid] = f"User '{u}' does not exist."
                else:
                    out[fid] = u.name if u else None
            elif fid == "customfield_10000":
                if value is not None and not isinstance(value, int | float):
                    errs[fid] = "Operation value must be a number."
                else:
                    out[fid] = None if value is None else float(value)
            elif fid == "customfield_10100":
                out[fid] = None if value in (None, "") else str(value)
            elif fid == "comment":
                errs[fid] = (
                    f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                )
        for fid, ops in (updates or {}).items():
            if fid == "comment":
                continue
            if fid != "labels":
                fd = FIELDS_BY_ID.get(fid)
                if fd is None or not (fd.on_create if creating else fd.on_edit):
                    errs[fid] = (
                        f"Field '{fid}' cannot be set. It is not on the appropriate "
                        "screen, or unknown."
                    )
                continue
            if not isinstance(ops, list):
                errs[fid] = "Invalid update operation."
                continue
            out.setdefault("__label_ops", []).extend(ops)
        for fid in project.required_fields.get(issuetype_name, ()):
            if creating and not (fields.get(fid) not in (None, "")):
                errs[fid] = f"{FIELDS_BY_ID[fid].name} is required."
        return out, errs

    @staticmethod
    def _label_ops(current: list[str], ops: list[Any]) -> list[str]:
        labels = list(current)
        for op in ops:
            if not isinstance(op, dict):
                continue
            if "add" in op and op["add"] not in labels:
                labels.append(str(op["add"]))
            if "remove" in op and op["remove"] in labels:
                labels.remove(op["remove"])
            if "set" in op:
                labels = [str(x) for x in op["set"] or []]
        return labels

    def ep_create_issue(self, ctx: Ctx) -> Response:
        """Create: 201 ``{"id","key","self"}``. Missing CREATE_ISSUES answers 400 with
        "You do not have permission to create issues in this project." (status UNCONFIRMED)."""
        body = ctx.json_object()
        fields = body.get("fields")
        if not isinstance(fields, dict):
            return errors(
                [],
                {
                    "project": "project is required",
                    "issuetype": "issue type is required",
                    "summary": "You must specify a summary of the issue.",
                },
            )
        assert ctx.user is not None
        errs: dict[str, str] = {}
        pv = fields.get("project")
        project = None
        if not pv:
            errs["project"] = "project is required"
        else:
            ident = (pv.get("id") or pv.get("key")) if isinstance(pv, dict) else pv
            project = self.world.project(str(ident or ""))
            if project is None or not self.world.has(ctx.user, "BROWSE_PROJECTS", project):
                errs["project"] = "valid project is required"
                project = None
        tv = fields.get("issuetype")
        itype = None
        if not tv:
            errs["issuetype"] = "issue type is required"
        elif isinstance(tv, dict):
            itype = ISSUE_TYPES_BY_ID.get(str(tv.get("id") or "")) or ISSUE_TYPES_BY_NAME.get(
                str(tv.get("name") or "").lower()
            )
            if itype is None:
                errs["issuetype"] = "valid issue type is required"
        else:
            errs["issuetype"] = "valid issue type is required"
        if errs:
            if "summary" not in fields:
                errs["summary"] = "You must specify a summary of the issue."
            return errors([], errs)
        assert project is not None and itype is not None
        if not self.world.has(ctx.user, "CREATE_ISSUES", project):
            return errors(["You do not have permission to create issues in this project."])
        if itype.subtask and not fields.get("parent"):
            return errors(
                [],
                {"issuetype": "Issue type is a sub-task but parent issue key or id not specified."},
            )
        values, errs = self._apply_fields(
            {k: v for k, v in fields.items() if k != "parent"},
            body.get("update") or {},
            creating=True,
            project=project,
            issuetype_name=itype.name,
        )
        if "summary" not in fields:
            errs["summary"] = "You must specify a summary of the issue."
        if errs:
            return errors([], errs)
        label_ops = values.pop("__label_ops", [])
        if label_ops:
            values["labels"] = self._label_ops(values.get("labels", []), label_ops)
        values["issuetype"] = itype.id
        values.setdefault("priority", DEFAULT_PRIORITY)
        values.setdefault("reporter", ctx.user.name)
        issue = self.world.create_issue(project, values, ctx.user)
        for op in (body.get("update") or {}).get("comment") or []:
            if isinstance(op, dict) and isinstance(op.get("add"), dict):
                self.world.add_comment(issue, ctx.user, str(op["add"].get("body") or ""))
        return json_response(
            {"id": str(issue.id), "key": issue.key, "self": f"{ctx.r.api}/issue/{issue.id}"}, 201
        )

    def ep_issue(self, ctx: Ctx, key: str) -> Response:
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(["Issue Does Not Exist"], status=404)
        project, n = ref
        method = ctx.request.method
        if method == "GET":
            fields = resolve_fields(ctx.list_arg("fields"), "*all")
            expand = {e.strip() for v in ctx.list_arg("expand") for e in v.split(",")}
            return json_response(
                ctx.r.issue(self.world.issue(project, n), self.world.users, fields, expand), 200
            )
        if ctx.user is None:
            return not_authenticated()
        if method == "DELETE":
            if not self.world.has(ctx.user, "DELETE_ISSUES", project):
                return errors(
                    ["You do not have permission to delete issues in this project."], status=403
                )
            self.world.delete_issue(project, n)
            return Response(b"", status=204)
        return self._edit(ctx, project, n)

    def _edit(self, ctx: Ctx, project: Project, n: int) -> Response:
        """PUT issue: 204 without body (status UNCONFIRMED); 403 without EDIT_ISSUES."""
        body = ctx.json_object()
        assert ctx.user is not None
        if not self.world.has(ctx.user, "EDIT_ISSUES", project):
            return errors(
                ["You do not have permission to edit issues in this project."], status=403
            )
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise BadBody(
                "Can not deserialize instance of java.util.LinkedHashMap out of START_ARRAY token"
            )
        current = self.world.issue(project, n)
        itype = ISSUE_TYPES_BY_ID[current.fields["issuetype"]].name
        values, errs = self._apply_fields(
            fields, update, creating=False, project=project, issuetype_name=itype
        )
        if "issuetype" in fields:
            tv = fields["issuetype"]
            t = None
            if isinstance(tv, dict):
                t = ISSUE_TYPES_BY_ID.get(str(tv.get("id") or "")) or ISSUE_TYPES_BY_NAME.get(
                    str(tv.get("name") or "").lower()
                )
            if t is None:
                errs["issuetype"] = "valid issue type is required"
            else:
                errs.pop("issuetype", None)
                values["issuetype"] = t.id
        comments = update.get("comment") or []
        if comments and not self.world.has(ctx.user, "ADD_COMMENTS", project):
            return errors(["You do not have the permission to comment on this issue."])
        if errs:
            return errors([], errs)
        with self.world.lock:
            issue = self.world.materialise(project, n)
            label_ops = values.pop("__label_ops", [])
            if label_ops:
                values["labels"] = self._label_ops(
                    values.get("labels", issue.fields.get("labels") or []), label_ops
                )
            items = []
            for fid, v in values.items():
                old = issue.fields.get(fid)
                if old == v:
                    continue
                items.append(
                    {
                        "field": fid,
                        "fieldtype": "custom" if fid.startswith("customfield_") else "jira",
                        "from": None,
                        "fromString": _str(old),
                        "to": None,
                        "toString": _str(v),
                    }
                )
                issue.fields[fid] = v
            if items:
                issue.fields["updated"] = now()
                self.world.add_history(issue, ctx.user, items)
            elif ctx.user and issue.key not in self.world.edited_keys:
                self.world.edited_keys.append(issue.key)
            for op in comments:
                if isinstance(op, dict) and isinstance(op.get("add"), dict):
                    self.world.add_comment(issue, ctx.user, str(op["add"].get("body") or ""))
        return Response(b"", status=204)

    def ep_comments(self, ctx: Ctx, key: str) -> Response:
        """Comments: list (paged) or add (201). Without ADD_COMMENTS: 400 (UNCONFIRMED)."""
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(["Issue Does Not Exist"], status=404)
        project, n = ref
        if ctx.request.method == "GET":
            issue = self.world.issue(project, n)
            start = _int(ctx.request.args.get("startAt"), 0)
            size = _int(ctx.request.args.get("maxResults"), 1048576)
            cs = [ctx.r.comment(c, issue, self.world.users) for c in issue.comments]
            return json_response(
                {
                    "startAt": start,
                    "maxResults": size,
                    "total": len(cs),
                    "comments": cs[start : start + size],
                },
                200,
            )
        if ctx.user is None:
            return not_authenticated()
        body = ctx.json_object()
        if not self.world.has(ctx.user, "ADD_COMMENTS", project):
            return errors(["You do not have the permission to comment on this issue."])
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            return errors([], {"comment": "Comment body can not be empty!"})
        issue = self.world.materialise(project, n)
        c = self.world.add_comment(issue, ctx.user, text)
        return json_response(ctx.r.comment(c, issue, self.world.users), 201)

    def ep_comment(self, ctx: Ctx, key: str, cid: str) -> Response:
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(["Issue Does Not Exist"], status=404)
        issue = self.world.issue(*ref)
        c = next((x for x in issue.comments if x["id"] == cid), None)
        if c is None:
            return errors([f"Can not find a comment for the id: {cid}."], status=404)
        if ctx.request.method == "GET":
            return json_response(ctx.r.comment(c, issue, self.world.users), 200)
        user = ctx.user
        if user is None:
            return not_authenticated()
        own = c["author"] == user.name
        if ctx.request.method == "DELETE":
            perm = "DELETE_OWN_COMMENTS" if own else "DELETE_ALL_COMMENTS"
            if not self.world.has(user, perm, ref[0]):
                return errors(["You do not have permission to delete this comment."], status=403)
            issue.comments.remove(c)
            return Response(b"", status=204)
        body = ctx.json_object()
        perm = "EDIT_OWN_COMMENTS" if own else "EDIT_ALL_COMMENTS"
        if not self.world.has(user, perm, ref[0]):
            return errors(["You do not have permission to edit this comment."], status=403)
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            return errors([], {"comment": "Comment body can not be empty!"})
        c["body"] = body["body"]
        c["updated"] = now()
        return json_response(ctx.r.comment(c, issue, self.world.users), 200)

    def ep_transitions(self, ctx: Ctx, key: str) -> Response:
        """Transitions of a simplified workflow (To Do / In Progress / Done, all global)."""
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(["Issue Does Not Exist"], status=404)
        project, n = ref
        allowed = self.world.has(ctx.user, "TRANSITION_ISSUES", project)
        if ctx.request.method == "GET":
            ts = (
                [
                    {
                        "id": tid,
                        "name": STATUSES[sid][0],
                        "to": ctx.r.status(sid),
                        "hasScreen": False,
                        "isGlobal": True,
                        "isInitial": False,
                        "isAvailable": True,
                        "isConditional": False,
                    }
                    for tid, sid in TRANSITIONS.items()
                ]
                if allowed
                else []
            )
            return json_response({"expand": "transitions", "transitions": ts}, 200)
        if ctx.user is None:
            return not_authenticated()
        body = ctx.json_object()
        tid = str(((body.get("transition") or {}).get("id")) or "")
        if not allowed:
            return errors(["You do not have permission to transition this issue."])
        if tid not in TRANSITIONS:
            return errors([f"Transition id '{tid}' is not valid for this issue."])
        with self.world.lock:
            issue = self.world.materialise(project, n)
            old = issue.fields["status"]
            new = TRANSITIONS[tid]
            if old != new:
                issue.fields["status"] = new
                issue.fields["updated"] = now()
                self.world.add_history(
                    issue,
                    ctx.user,
                    [
                        {
                            "field": "status",
                            "fieldtype": "jira",
                            "from": old,
                            "fromString": STATUSES[old][0],
                            "to": new,
                            "toString": STATUSES[new][0],
                        }
                    ],
                )
        return Response(b"", status=204)

    # -- metadata -----------------------------------------------------------------------------
    def _field_meta(
        self, ctx: Ctx, fid: str, project: Project, itype: str, paged: bool, editing: bool = False
    ) -> dict[str, Any]:
        fd = FIELDS_BY_ID[fid]
        required = fid in ("summary", "issuetype", "project") and not editing
        required = required or fid in project.required_fields.get(itype, ())
        if editing:
            required = fid == "summary"
        d: dict[str, Any] = {"required": required, "schema": fd.schema, "name": fd.name}
        if paged:
            d["fieldId"] = fid
        else:
            d["key"] = fid
        d["hasDefaultValue"] = fid in ("priority", "reporter")
        d["operations"] = ["add", "set", "remove"] if fid == "labels" else ["set"]
        if fid == "priority":
            d["allowedValues"] = [ctx.r.priority(p) for p in PRIORITIES]
            d["defaultValue"] = ctx.r.priority(DEFAULT_PRIORITY)
        elif fid == "issuetype":
            d["allowedValues"] = [ctx.r.issuetype(t) for t in ISSUE_TYPES if not t.subtask]
        elif fid == "project":
            d["allowedValues"] = [ctx.r.project(project)]
        return d

    def _create_fields(self, project: Project, itype: str) -> list[str]:
        return [f.id for f in FIELDS if f.on_create]

    def ep_createmeta(self, ctx: Ctx) -> Response:
        """Old createmeta: removed in 9.0 (404), present on 7.x/8.x (deprecated from 8.4)."""
        if not self.cfg.personality.old_createmeta:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        a = ctx.request.args
        keys = {k.strip().upper() for v in a.getlist("projectKeys") for k in v.split(",") if k}
        ids = {k.strip() for v in a.getlist("projectIds") for k in v.split(",") if k}
        tnames = {k.strip().lower() for v in a.getlist("issuetypeNames") for k in v.split(",") if k}
        tids = {k.strip() for v in a.getlist("issuetypeIds") for k in v.split(",") if k}
        with_fields = "projects.issuetypes.fields" in (a.get("expand") or "")
        out = []
        for p in self.world.visible_projects(ctx.user):
            if (keys or ids) and p.key not in keys and str(p.id) not in ids:
                continue
            if not self.world.has(ctx.user, "CREATE_ISSUES", p):
                continue
            types = []
            for t in ISSUE_TYPES:
                if (tnames and t.name.lower() not in tnames) or (tids and t.id not in tids):
                    continue
                td = dict(ctx.r.issuetype(t), expand="fields")
                if with_fields:
                    td["fields"] = {
                        f: self._field_meta(ctx, f, p, t.name, False)
                        for f in self._create_fields(p, t.name)
                    }
                types.append(td)
            out.append(
                {
                    "expand": "issuetypes",
                    "self": f"{ctx.r.api}/project/{p.id}",
                    "id": str(p.id),
                    "key": p.key,
                    "name": p.name,
                    "avatarUrls": ctx.r.avatars("project", "10324"),
                    "issuetypes": types,
                }
            )
        return json_response({"expand": "projects", "projects": out}, 200)

    def _paged(self, ctx: Ctx, values: list[Any]) -> Response:
        start = _int(ctx.request.args.get("startAt"), 0)
        size = _int(ctx.request.args.get("maxResults"), 50)
        page = values[start : start + size]
        return json_response(
            {
                "maxResults": size,
                "startAt": start,
                "total": len(values),
                "isLast": start + size >= len(values),
                "values": page,
            },
            200,
        )

    def _createmeta_project(self, ctx: Ctx, pkey: str) -> Project | Response:
        if not self.cfg.personality.paged_createmeta:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        p = self._visible_project(ctx, pkey)
        if p is None:
            what = "id" if pkey.isdigit() else "key"
            return errors([f"No project could be found with {what} '{pkey}'."], status=404)
        return p

    def ep_createmeta_types(self, ctx: Ctx, pkey: str) -> Response:
        """Paged createmeta (8.4+): issue types; empty when the caller cannot create."""
        p = self._createmeta_project(ctx, pkey)
        if isinstance(p, Response):
            return p
        if not self.world.has(ctx.user, "CREATE_ISSUES", p):
            return self._paged(ctx, [])
        return self._paged(ctx, [ctx.r.issuetype(t) for t in ISSUE_TYPES])

    def ep_createmeta_fields(self, ctx: Ctx, pkey: str, tid: str) -> Response:
        """Paged createmeta (8.4+): the create-screen fields of one issue type."""
        p = self._createmeta_project(ctx, pkey)
        if isinstance(p, Response):
            return p
        t = ISSUE_TYPES_BY_ID.get(tid)
        if t is None:
            return errors([f"The issue type with id '{tid}' does not exist."], status=404)
        if not self.world.has(ctx.user, "CREATE_ISSUES", p):
            return self._paged(ctx, [])
        return self._paged(
            ctx, [self._field_meta(ctx, f, p, t.name, True) for f in self._create_fields(p, t.name)]
        )

    def ep_editmeta(self, ctx: Ctx, key: str) -> Response:
        """Fields on the edit screen; empty when the caller may not edit."""
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(["Issue Does Not Exist"], status=404)
        p, n = ref
        if not self.world.has(ctx.user, "EDIT_ISSUES", p):
            return json_response({"fields": {}}, 200)
        itype = ISSUE_TYPES_BY_ID[self.world.issue(p, n).fields["issuetype"]].name
        return json_response(
            {
                "fields": {
                    f.id: self._field_meta(ctx, f.id, p, itype, False, editing=True)
                    for f in FIELDS
                    if f.on_edit
                }
            },
            200,
        )

    # -- sessions and tokens ------------------------------------------------------------------
    def ep_session(self, ctx: Ctx) -> Response:
        """Cookie login. Rejected on 11.x (basic auth off) with the basic-auth 403 body
        (UNCONFIRMED), and absent on Cloud (404)."""
        method = ctx.request.method
        if self.cfg.personality.cloud:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        if method == "GET":
            if ctx.user is None:
                return not_authenticated()
            return json_response(
                {
                    "self": f"{ctx.r.api}/user?username={ctx.user.name}",
                    "name": ctx.user.name,
                    "loginInfo": self._login_info(ctx.user),
                },
                200,
            )
        if method == "DELETE":
            sid = ctx.request.cookies.get("JSESSIONID")
            if ctx.user is None:
                return not_authenticated()
            if sid:
                self.auth.sessions.drop(sid)
            return Response(b"", status=204)
        if not self.cfg.basic_auth_enabled:
            return json_response(
                {"message": "Basic Authentication has been disabled on this instance."}, 403
            )
        body = ctx.json_object()
        login = str(body.get("username") or "")
        res = self.auth.check_password(
            login, str(body.get("password") or ""), self.login_url(ctx.request)
        )
        ctx.auth.claimed_user = login
        if res.user is None:
            ctx.auth.login_failed = True
            status = (
                403
                if "X-Authentication-Denied-Reason" in res.extra_headers
                or (res.error is not None and res.error.status_code == 403)
                else 401
            )
            hdrs = dict(res.extra_headers)
            if res.error is not None:
                hdrs.update(
                    {k: v for k, v in res.error.headers.items() if k.lower().startswith("x-")}
                )
            if status == 403 and "X-Authentication-Denied-Reason" not in hdrs:
                hdrs.update(captcha_headers(self.login_url(ctx.request)))
            msg = "Login denied" if status == 403 else "Login failed"
            resp = errors([msg], status=status)
            resp.headers.update(hdrs)
            return resp
        sid = self.auth.sessions.create(res.user)
        resp = json_response(
            {
                "session": {"name": "JSESSIONID", "value": sid},
                "loginInfo": self._login_info(res.user),
            },
            200,
        )
        resp.set_cookie("JSESSIONID", sid, path=self.cfg.context_path or "/", httponly=True)
        return resp

    @staticmethod
    def _login_info(user: User) -> dict[str, Any]:
        return {
            "failedLoginCount": user.failed_logins,
            "loginCount": user.login_count,
            "previousLoginTime": jira_time(now()),
        }

    def ep_tokens(self, ctx: Ctx, pv: str) -> Response:
        """Personal access tokens (8.14+): create for yourself (rawToken shown once) or list."""
        if not self.cfg.personality.pats or self.cfg.personality.cloud:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        assert ctx.user is not None
        if ctx.request.method == "GET":
            return json_response([self._token_bean(t) for t in ctx.user.tokens], 200)
        body = ctx.json_object()
        name = str(body.get("name") or "").strip()
        if not name:
            return errors([], {"name": "Token name is required."})
        days = body.get("expirationDuration")
        raw = secrets.token_urlsafe(33)
        tok = self.world.add_token(ctx.user, name, raw, int(days) if days else None)
        return json_response(dict(self._token_bean(tok), rawToken=raw), 201)

    def ep_token(self, ctx: Ctx, pv: str, tid: int) -> Response:
        if not self.cfg.personality.pats or self.cfg.personality.cloud:
            return errors(["Not found"], status=404)
        assert ctx.user is not None
        tok = next((t for t in ctx.user.tokens if t.id == tid), None)
        if tok is None:
            return errors([f"Token with id {tid} not found"], status=404)
        ctx.user.tokens.remove(tok)
        return Response(b"", status=204)

    @staticmethod
    def _token_bean(t: Any) -> dict[str, Any]:
        d = {"id": t.id, "name": t.name, "createdAt": jira_time(t.created)}
        if t.expiring is not None:
            d["expiringAt"] = jira_time(t.expiring)
        return d


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


__all__ = ["JiraApp"]
