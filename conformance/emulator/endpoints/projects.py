"""Projects (/project, /project/search, /project/{key}) and the static reference lists (/field,
/priority, /status, /statuscategory, /issuetype, /resolution) a client reads to set up."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Response

from ..auth import json_response
from ..http_helpers import Ctx, _int, errors
from ..world import (
    FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUS_CATEGORIES,
    STATUSES,
)
from .base import EndpointBase


class ProjectEndpoints(EndpointBase):
    """Project listing and creation, plus the global reference lists."""

    # -- projects -----------------------------------------------------------------------------
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
                    **({"schema": ctx.r.schema(f.id)} if f.schema else {}),
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
        return json_response([ctx.r.resolution(r) for r in RESOLUTIONS], 200)


__all__ = ["ProjectEndpoints"]
