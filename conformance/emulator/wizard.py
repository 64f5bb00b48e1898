"""First-run: a fresh Jira before its setup wizard, accepting the official image's form posts.

Steps in order (docs/jira-wire-facts.md §11.1): ``GET /`` (page with ``jira-setup-mode``, cookie
``atlassian.xsrf.token``, form field ``atl_token``), then POSTs to SetupMode, SetupDatabase,
SetupApplicationProperties, SetupLicense, SetupAdminAccount and SetupMailNotifications.
Invalid input (missing field, wrong order, bad ``atl_token``, empty licence, password not
confirmed) answers 200 with an error page and stays on the step, as real Jira does: only
``/status`` (FIRST_RUN until done, then RUNNING) proves success.

While the wizard is not done, REST resources other than serverInfo redirect to the wizard
(302 to ``/secure/SetupMode!default.jspa``; UNCONFIRMED for REST calls).
"""

from __future__ import annotations

import re
import secrets
from html import escape
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .auth import json_response

if TYPE_CHECKING:
    from .app import JiraApp

STEPS = [
    "SetupMode",
    "SetupDatabase",
    "SetupApplicationProperties",
    "SetupLicense",
    "SetupAdminAccount",
    "SetupMailNotifications",
]
# where a successful POST of each step leads (None = 200 page of the next step)
_NEXT: dict[str, str | None] = {
    "SetupMode": "SetupDatabase!default.jspa",
    "SetupDatabase": "SetupApplicationProperties!default.jspa",
    "SetupApplicationProperties": "SetupLicense!default.jspa",
    "SetupLicense": "SetupAdminAccount!default.jspa",
    "SetupAdminAccount": None,
    "SetupMailNotifications": "Dashboard.jspa",
}


class Wizard:
    """State of the setup wizard of one first-run emulator."""

    def __init__(self, app: JiraApp) -> None:
        self.app = app
        self.token = secrets.token_hex(20)
        self.step = 0  # index into STEPS of the next expected POST
        self.done = False
        self.values: dict[str, str] = {}

    def page(self, request: Request, step: str, error: str | None = None) -> Response:
        """The HTML page of ``step`` (with an error message when input was rejected)."""
        err = (
            f'<div class="aui-message error" id="setup-error">{escape(error)}</div>'
            if error
            else ""
        )
        body = (
            "<!DOCTYPE html><html><head><title>Jira - Set up</title></head>"
            f'<body id="jira" class="jira-setup-mode aui-page-focused" data-step="{step}">'
            f'<form method="post" action="{step}.jspa">{err}'
            f'<input type="hidden" name="atl_token" value="{self.token}"/>'
            "<h1>Set up Jira</h1></form></body></html>"
        )
        resp = Response(body, status=200, content_type="text/html;charset=UTF-8")
        resp.set_cookie("atlassian.xsrf.token", self.token, path=self.app.cfg.context_path or "/")
        if not request.cookies.get("JSESSIONID"):
            resp.set_cookie(
                "JSESSIONID",
                secrets.token_hex(16).upper(),
                path=self.app.cfg.context_path or "/",
                httponly=True,
            )
        return resp

    def _redirect(self, request: Request, target: str) -> Response:
        base = request.host_url.rstrip("/") + self.app.cfg.context_path
        return Response(b"", status=302, headers={"Location": f"{base}/secure/{target}"})

    def handle(self, request: Request, path: str) -> Response | None:
        """Answer a request while the wizard runs; None lets the normal app answer."""
        if path == "/status":
            return json_response({"state": "FIRST_RUN"}, 200)
        if path in ("/", "/secure/SetupMode!default.jspa"):
            return self.page(request, STEPS[self.step] if self.step < len(STEPS) else STEPS[-1])
        m = re.fullmatch(r"/secure/(Setup\w+?)(?:!default)?\.jspa", path)
        if m and m.group(1) in STEPS:
            step = m.group(1)
            if request.method != "POST":
                return self.page(request, step)
            return self.post(request, step)
        if re.search(r"/rest/api/[^/]+/serverInfo$", path):
            return None
        return self._redirect(request, "SetupMode!default.jspa")

    def post(self, request: Request, step: str) -> Response:
        """Validate one step's form post; advance only on success."""
        form = request.form
        expected = STEPS[self.step]
        if form.get("atl_token") != self.token:
            return self.page(request, expected, "XSRF Security Token Missing or invalid.")
        if step != expected:
            return self.page(request, expected, f"Please complete the step '{expected}' first.")
        error = self.validate(step, form)
        if error:
            return self.page(request, step, error)
        self.values.update({k: form.get(k, "") for k in form})
        self.step += 1
        if step == "SetupAdminAccount":
            world = self.app.world
            world.add_user(
                form["username"], form["password"], form["fullname"], form["email"], admin=True
            )
        if step == "SetupMailNotifications":
            self.done = True
            base = self.values.get("baseURL")
            if base:
                self.app.configured_base_url = base.rstrip("/")
        nxt = _NEXT[step]
        if nxt is None:
            return self.page(request, STEPS[self.step])
        return self._redirect(request, nxt)

    @staticmethod
    def validate(step: str, form: dict[str, str]) -> str | None:
        """The wizard's error text for bad input, or None."""
        g = form.get
        if step == "SetupMode":
            if g("setupOption") not in ("classic", "instant"):
                return "Please choose how to set up Jira."
        elif step == "SetupDatabase":
            opt = g("databaseOption")
            if opt == "external":
                for k in (
                    "databaseType",
                    "jdbcHostname",
                    "jdbcPort",
                    "jdbcDatabase",
                    "jdbcUsername",
                ):
                    if not g(k):
                        return f"You must specify the {k}."
            elif opt != "internal":
                return "Please choose a database option."
        elif step == "SetupApplicationProperties":
            if not (g("title") or "").strip():
                return "You must specify a title."
            if g("mode") not in ("private", "public"):
                return "You must choose a mode."
            if not re.match(r"https?://[^\s/]+", g("baseURL") or ""):
                return "The URL specified is not valid."
        elif step == "SetupLicense":
            if not (g("setupLicenseKey") or "").strip():
                return "Invalid license key specified."
        elif step == "SetupAdminAccount":
            for k, label in (
                ("fullname", "full name"),
                ("email", "email address"),
                ("username", "username"),
                ("password", "password"),
                ("confirm", "password confirmation"),
            ):
                if not (g(k) or "").strip():
                    return f"You must specify a {label}."
            if "@" not in (g("email") or ""):
                return "You must specify a valid email address."
            if g("password") != g("confirm"):
                return "Your password and confirmation password do not match."
        return None
