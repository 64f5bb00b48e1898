"""Screen metadata (/issue/createmeta, paged createmeta and /issue/{key}/editmeta), together because
they share the field-meta bean."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from ..auth import json_response
from ..http_helpers import Ctx, _int, errors
from ..world import (
    DEFAULT_PRIORITY,
    FIELDS,
    FIELDS_BY_ID,
    ISSUE_TYPES,
    ISSUE_TYPES_BY_ID,
    PRIORITIES,
    Project,
)
from .base import EndpointBase


class MetaEndpoints(EndpointBase):
    """Create and edit screen metadata."""

    # -- metadata -----------------------------------------------------------------------------
    def _field_meta(
        self, ctx: Ctx, fid: str, project: Project, itype: str, paged: bool, editing: bool = False
    ) -> dict[str, Any]:
        fd = FIELDS_BY_ID[fid]
        required = fid in ("summary", "issuetype", "project") and not editing
        required = required or fid in project.required_fields.get(itype, ())
        if editing:
            required = fid == "summary"
        d: dict[str, Any] = {"required": required, "schema": ctx.r.schema(fid), "name": fd.name}
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


__all__ = ["MetaEndpoints"]
