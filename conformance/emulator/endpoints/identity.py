"""Who is the server and who is the caller: /serverInfo, /myself, /user, /rest/auth/1/session and
/rest/pat/*/tokens, grouped because they all deal with the instance or caller identity."""

from __future__ import annotations

import secrets
from typing import Any

from werkzeug.wrappers import Response

from ..auth import captcha_headers, json_response, not_authenticated
from ..http_helpers import Ctx, errors
from ..world import (
    User,
    jira_time,
    now,
)
from .base import EndpointBase


class IdentityEndpoints(EndpointBase):
    """serverInfo, users, cookie sessions and personal access tokens."""

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


__all__ = ["IdentityEndpoints"]
