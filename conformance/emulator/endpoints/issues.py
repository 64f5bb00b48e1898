"""Issue reads and writes (/issue create/get/edit/delete, /comment, /transitions), together because
they share field validation and the issue look-up."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Response

from ..adf import to_text
from ..auth import json_response, not_authenticated
from ..http_helpers import BadBody, Ctx, _int, _str, errors
from ..render import resolve_fields
from ..world import (
    DEFAULT_PRIORITY,
    DONE_RESOLUTION,
    FIELDS_BY_ID,
    ISSUE_TYPES_BY_ID,
    ISSUE_TYPES_BY_NAME,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TRANSITIONS,
    Project,
    User,
    now,
)
from .base import EndpointBase


class IssueEndpoints(EndpointBase):
    """Issue CRUD, comments and workflow transitions."""

    # -- issues -------------------------------------------------------------------------------
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
            elif fid in ("description", "environment"):
                out[fid] = to_text(value)
            elif fid == "duedate":
                if value is not None and not (
                    isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value)
                ):
                    errs[fid] = "Error parsing date string: " + str(value)
                else:
                    out[fid] = value
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
        parent = None
        if itype.subtask:
            pv = fields.get("parent")
            ident = (pv.get("key") or pv.get("id")) if isinstance(pv, dict) else pv
            if not ident:
                return errors(
                    [],
                    {
                        "issuetype": "Issue type is a sub-task but parent issue key or id not "
                        "specified."
                    },
                )
            parent = self.world.parse_key(str(ident))
            if parent is None or parent[0] is not project:
                return errors([], {"parent": f"Could not find issue by id or key: {ident}"})
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
        if parent is not None:
            values["parent"] = parent[1]
        issue = self.world.create_issue(project, values, ctx.user)
        if parent is not None:
            with self.world.lock:
                self.world.materialise(*parent).fields["subtasks"].append(issue.number)
        for op in (body.get("update") or {}).get("comment") or []:
            if isinstance(op, dict) and isinstance(op.get("add"), dict):
                self.world.add_comment(issue, ctx.user, to_text(op["add"].get("body")) or "")
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
            elif issue.key not in self.world.edited_keys:
                self.world.edited_keys.append(issue.key)
            for op in comments:
                if isinstance(op, dict) and isinstance(op.get("add"), dict):
                    self.world.add_comment(issue, ctx.user, to_text(op["add"].get("body")) or "")
        return Response(b"", status=204)

    def ep_changelog(self, ctx: Ctx, key: str) -> Response:
        """Cloud's paged changelog (``values``, ``isLast``); Data Center only has
        ``expand=changelog`` and answers Jersey's 404 here."""
        if not self.cfg.personality.cloud:
            url = ctx.request.host_url.rstrip("/") + ctx.request.path
            return json_response({"message": f"null for uri: {url}", "status-code": 404}, 404)
        ref = self._issue_ref(ctx, key)
        if ref is None:
            return errors(
                ["Issue does not exist or you do not have permission to see it."], status=404
            )
        start = max(0, _int(ctx.request.args.get("startAt"), 0))
        size = max(1, min(_int(ctx.request.args.get("maxResults"), 100), 100))
        hs = ctx.r.histories(self.world.issue(*ref), self.world.users)
        return json_response(
            {
                "self": ctx.request.url,
                "maxResults": size,
                "startAt": start,
                "total": len(hs),
                "isLast": start + size >= len(hs),
                "values": hs[start : start + size],
            },
            200,
        )

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
        text = to_text(body.get("body"))
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
                t = now()
                issue.fields["status"] = new
                issue.fields["updated"] = t
                items = [
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "from": old,
                        "fromString": STATUSES[old][0],
                        "to": new,
                        "toString": STATUSES[new][0],
                    }
                ]
                resolution = DONE_RESOLUTION if STATUSES[new][1] == "done" else None
                if resolution != issue.fields.get("resolution"):
                    was = issue.fields.get("resolution")
                    items.append(
                        {
                            "field": "resolution",
                            "fieldtype": "jira",
                            "from": was,
                            "fromString": RESOLUTIONS[was][0] if was else None,
                            "to": resolution,
                            "toString": RESOLUTIONS[resolution][0] if resolution else None,
                        }
                    )
                    issue.fields["resolution"] = resolution
                    issue.fields["resolutiondate"] = t if resolution else None
                self.world.add_history(issue, ctx.user, items)
        return Response(b"", status=204)


__all__ = ["IssueEndpoints"]
