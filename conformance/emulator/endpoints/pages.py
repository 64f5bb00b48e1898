"""Jira's HTML pages and health check (/status, /, /secure/Dashboard.jspa, /secure/*, /login.jsp,
the SSO IdP page): the non-REST answers a browser or load balancer sees."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from ..auth import json_response
from ..http_helpers import JIRA_404_HTML, Ctx
from .base import EndpointBase


class PagesEndpoints(EndpointBase):
    """Status, redirects and HTML pages (no authentication needed)."""

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


__all__ = ["PagesEndpoints"]
