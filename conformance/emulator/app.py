"""The WSGI application: Jira REST v2 routing, gates (faults, SSO, CAPTCHA, rate limits), log.

Every answer is Jira-shaped: unknown REST paths get Jersey's ``{"message":"null for uri: ..."}``
404, bad JSON bodies a 400 with ``errorMessages``, unexpected exceptions a 500 JSON body;
never a Python traceback page.

The routing table is ``_rules()`` below; the handler for endpoint ``name`` is the method
``ep_<name>``, found in the :mod:`.endpoints` module for its area (pages, identity, permissions,
projects, search, issues, meta).

Decisions where the wire facts are UNCONFIRMED are noted on the handlers.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import socket
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import jql as jqlmod
from .auth import Authenticator, AuthResult, json_response, not_authenticated
from .endpoints import (
    IdentityEndpoints,
    IssueEndpoints,
    MetaEndpoints,
    PagesEndpoints,
    PermissionEndpoints,
    ProjectEndpoints,
    SearchEndpoints,
)
from .faults import FaultSet
from .http_helpers import JIRA_404_HTML, BadBody, Ctx, DropConnection, errors
from .log import LoggedRequest, RequestLog
from .ratelimit import RateLimiter
from .render import Renderer
from .scenarios import RATE_LIMITED_BUCKET, ScenarioConfig
from .wizard import Wizard
from .world import World

API = "/rest/api/<any('2','latest','3'):v>"
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
        r(f"{API}/issue/<key>/changelog", endpoint="changelog", methods=["GET"]),
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
        "changelog",
    }
)


class JiraApp(
    PagesEndpoints,
    IdentityEndpoints,
    PermissionEndpoints,
    ProjectEndpoints,
    SearchEndpoints,
    IssueEndpoints,
    MetaEndpoints,
):
    """One emulated Jira instance as a WSGI callable.

    This class holds the request pipeline (gates, routing, identity headers, logging); the
    ``ep_*`` handlers come from the mixins in :mod:`.endpoints`.
    """

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

    def renderer(self, request: Request, version: str = "2") -> Renderer:
        return Renderer(self.base_url(request), self.cfg.personality.cloud, self.world, version)

    def login_url(self, request: Request) -> str:
        return request.host_url.rstrip("/") + self.cfg.context_path + "/login.jsp"

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        entry: dict[str, Any] = {"user": None, "auth": None, "login_failed": False}
        entry["arrived"] = time.monotonic()
        entry["seq"] = self.log.arrived()
        try:
            response = self.handle(request, environ, entry)
        except DropConnection:  # dropped at its latency, as it would have been answered
            self._log(request, entry, 0)
            raise ConnectionResetError("fault injection dropped the connection") from None
        except Exception:  # pragma: no cover - the catch-all must never leak a traceback page
            traceback.print_exc()
            response = errors(["Internal server error"], status=500)
        self._wait_latency(entry["arrived"])
        response.headers["X-AREQUESTID"] = f"{next(self._req_ids)}x1"
        self._log(request, entry, response.status_code)
        return response(environ, start_response)

    def _wait_latency(self, arrived: float) -> None:
        """Answer ``latency`` after the request arrived, the time to answer included.

        A Jira at 50 ms answers in 50 ms however many requests are in flight: its own work runs
        on its own cores. This process does its work under one interpreter lock, so a latency
        added after the work would make concurrent requests queue behind each other's rendering,
        a limit of the emulator that a client sending one request at a time never meets.
        """
        if self.latency:
            remaining = self.latency - (time.monotonic() - arrived)
            if remaining > 0:
                time.sleep(remaining)

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
                entry["seq"],
                entry["arrived"],
            )
        )

    def handle(self, request: Request, environ: dict[str, Any], entry: dict[str, Any]) -> Response:
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
                self._wait_latency(entry["arrived"])
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                raise DropConnection()
            status = fault.status or 500
            injected = errors([f"Injected fault: HTTP {status}"], status=status)
            if status == 429:  # as Jira's rate limiter says it: the bucket, and when to retry
                limiter = self.limiter or RateLimiter(*RATE_LIMITED_BUCKET)
                injected.headers.update(limiter.headers(0, 1))
            return injected
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

        args = dict(args)
        api_v = str(args.pop("v", "2"))
        if api_v == "3" and not self.cfg.personality.cloud:
            url = request.host_url.rstrip("/") + raw_path
            resp = json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
            return self._finish(resp, auth, extra, limited)
        ctx = Ctx(self, request, path, auth, args, api_version=api_v)
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
            if auth.scheme == "basic" and auth.user is not None:
                # Seraph opens an HTTP session for a request authenticated by basic auth and
                # says so with JSESSIONID (UNCONFIRMED: widely observed, not documented).
                sid = self.auth.sessions.create(auth.user)
                resp.set_cookie("JSESSIONID", sid, path=self.cfg.context_path or "/", httponly=True)
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


__all__ = ["JiraApp"]
