"""Permission answers (/mypermissions, /permissions, /permissionscheme, /project/{key}/permissionscheme),
together because they share the permission and scheme JSON beans."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from ..auth import json_response
from ..http_helpers import Ctx, errors
from ..world import (
    DEPRECATED_ALIASES,
    PERMISSIONS,
    Grant,
    Project,
)
from .base import EndpointBase


class PermissionEndpoints(EndpointBase):
    """The caller's permissions, the permission catalogue and permission schemes."""

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


__all__ = ["PermissionEndpoints"]
