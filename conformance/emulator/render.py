"""JSON shapes of Jira beans: users, projects, issue types, statuses, issues, comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from .world import (
    ALL_FIELDS,
    FIELDS_BY_ID,
    ISSUE_TYPES,
    ISSUE_TYPES_BY_ID,
    NAVIGABLE_FIELDS,
    PRIORITIES,
    STATUS_CATEGORIES,
    STATUSES,
    Issue,
    IssueType,
    Project,
    User,
    jira_time,
)

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


class Renderer:
    """Renders beans with ``self`` links under ``base`` (serverInfo's baseUrl)."""

    def __init__(self, base: str, cloud: bool = False) -> None:
        self.base = base
        self.api = f"{base}/rest/api/2"
        self.cloud = cloud

    def avatars(self, kind: str, ident: str) -> dict[str, str]:
        url = f"{self.base}/secure/{kind}avatar?avatarId={ident}"
        return {
            s: f"{url}&size={n}"
            for s, n in (
                ("48x48", "large"),
                ("24x24", "small"),
                ("16x16", "xsmall"),
                ("32x32", "medium"),
            )
        }

    def user(self, u: User | None, full: bool = False) -> dict[str, Any] | None:
        if u is None:
            return None
        if self.cloud:
            d: dict[str, Any] = {
                "self": f"{self.api}/user?accountId={u.account_id}",
                "accountId": u.account_id,
                "accountType": "atlassian",
                "emailAddress": u.email,
                "avatarUrls": self.avatars("user", "10122"),
                "displayName": u.display_name,
                "active": u.active,
                "timeZone": "Etc/UTC",
            }
            if full:
                d["locale"] = "en_US"
                d["groups"] = {"size": len(u.groups), "items": []}
                d["applicationRoles"] = {"size": 1, "items": []}
                d["expand"] = "groups,applicationRoles"
            return d
        d = {
            "self": f"{self.api}/user?username={quote(u.name)}",
            "key": u.key,
            "name": u.name,
            "emailAddress": u.email,
            "avatarUrls": self.avatars("user", "10122"),
            "displayName": u.display_name,
            "active": u.active,
            "timeZone": "Etc/UTC",
        }
        if full:
            d["deleted"] = False
            d["locale"] = "en_US"
            d["groups"] = {
                "size": len(u.groups),
                "items": [{"name": g, "self": f"{self.api}/group?groupname={g}"} for g in u.groups],
            }
            d["applicationRoles"] = {
                "size": 1,
                "items": [{"key": "jira-software", "name": "Jira Software"}],
            }
            d["expand"] = "groups,applicationRoles"
        return d

    def issuetype(self, t: IssueType) -> dict[str, Any]:
        return {
            "self": f"{self.api}/issuetype/{t.id}",
            "id": t.id,
            "description": t.description,
            "iconUrl": f"{self.base}/secure/viewavatar?size=xsmall&avatarId=10318"
            "&avatarType=issuetype",
            "name": t.name,
            "subtask": t.subtask,
            "avatarId": 10318,
        }

    def status(self, sid: str) -> dict[str, Any]:
        name, cat = STATUSES[sid]
        c = STATUS_CATEGORIES[cat]
        return {
            "self": f"{self.api}/status/{sid}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": name,
            "id": sid,
            "statusCategory": {"self": f"{self.api}/statuscategory/{c['id']}", **c},
        }

    def priority(self, pid: str) -> dict[str, Any]:
        return {
            "self": f"{self.api}/priority/{pid}",
            "iconUrl": f"{self.base}/images/icons/priorities/{PRIORITIES[pid].lower()}.svg",
            "name": PRIORITIES[pid],
            "id": pid,
        }

    def project(self, p: Project, full: bool = False, lead: User | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "self": f"{self.api}/project/{p.id}",
            "id": str(p.id),
            "key": p.key,
            "name": p.name,
            "avatarUrls": self.avatars("project", "10324"),
            "projectTypeKey": p.project_type,
            "archived": False,
        }
        if full:
            d.update(
                {
                    "description": p.description,
                    "lead": self.user(lead),
                    "components": [],
                    "issueTypes": [self.issuetype(t) for t in ISSUE_TYPES],
                    "assigneeType": "UNASSIGNED",
                    "versions": [],
                    "roles": {},
                    "isPrivate": False,
                    "projectKeys": [p.key],
                }
            )
            if self.cloud:
                d["simplified"] = False
                d["style"] = "classic"
        return d

    def comment(self, c: dict[str, Any], issue: Issue, users: dict[str, User]) -> dict[str, Any]:
        author = self.user(users.get(c["author"]))
        return {
            "self": f"{self.api}/issue/{issue.id}/comment/{c['id']}",
            "id": c["id"],
            "author": author,
            "body": c["body"],
            "updateAuthor": author,
            "created": jira_time(c["created"]),
            "updated": jira_time(c["updated"]),
        }

    def field_value(self, fid: str, value: Any, issue: Issue, users: dict[str, User]) -> Any:
        if fid == "issuetype":
            return self.issuetype(ISSUE_TYPES_BY_ID[value])
        if fid == "project":
            return self.project(issue.project)
        if fid == "status":
            return self.status(value)
        if fid == "priority":
            return self.priority(value) if value else None
        if fid in ("reporter", "assignee", "creator"):
            return self.user(users.get(value)) if value else None
        if isinstance(value, datetime):
            return jira_time(value)
        if fid == "comment":
            cs = [self.comment(c, issue, users) for c in issue.comments]
            return {"comments": cs, "maxResults": len(cs), "total": len(cs), "startAt": 0}
        return value

    def issue(
        self, issue: Issue, users: dict[str, User], fields: list[str], expand: set[str]
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
        }
        out: dict[str, Any] = {}
        for fid in fields:
            if fid == "project":
                out[fid] = self.project(issue.project)
            elif fid == "comment":
                out[fid] = self.field_value("comment", None, issue, users)
            else:
                out[fid] = self.field_value(fid, issue.fields.get(fid), issue, users)
        d["fields"] = out
        if "changelog" in expand:
            hs = [
                {
                    "id": h["id"],
                    "author": self.user(users.get(h["author"])),
                    "created": jira_time(h["created"]),
                    "items": h["items"],
                }
                for h in issue.histories
            ]
            d["changelog"] = {
                "startAt": 0,
                "maxResults": len(hs),
                "total": len(hs),
                "histories": hs,
            }
        if "names" in expand:
            d["names"] = {f: FIELDS_BY_ID[f].name for f in fields if f in FIELDS_BY_ID}
        if "schema" in expand:
            d["schema"] = {f: FIELDS_BY_ID[f].schema for f in fields if f in FIELDS_BY_ID}
        return d


def resolve_fields(values: list[str], default: str) -> list[str]:
    """Resolve a ``fields`` parameter (comma lists, ``*all``, ``*navigable``, ``-field``)."""
    tokens = [t.strip() for v in values for t in str(v).split(",") if t.strip()]
    chosen: list[str] = []
    removed: set[str] = set()
    positive = False
    for t in tokens:
        if t.startswith("-"):
            removed.add(t[1:])
            continue
        positive = True
        if t == "*all":
            chosen.extend(ALL_FIELDS)
        elif t == "*navigable":
            chosen.extend(NAVIGABLE_FIELDS)
        elif t in FIELDS_BY_ID:
            chosen.append(t)
    if not positive:
        chosen = list(ALL_FIELDS if default == "*all" else NAVIGABLE_FIELDS)
    seen: set[str] = set()
    return [f for f in chosen if f not in removed and not (f in seen or seen.add(f))]
