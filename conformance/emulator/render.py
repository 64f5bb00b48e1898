"""JSON shapes of Jira beans: users, projects, issue types, statuses, issues, comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .adf import to_adf
from .world import (
    ALL_FIELDS,
    COMPONENTS,
    EPOCH,
    FIELDS_BY_ID,
    ISSUE_TYPES,
    ISSUE_TYPES_BY_ID,
    LINK_TYPES,
    NAVIGABLE_FIELDS,
    PRIORITIES,
    RESOLUTIONS,
    SPRINT_DAYS,
    SPRINT_FIELD,
    STATUS_CATEGORIES,
    STATUSES,
    VERSIONS,
    Issue,
    IssueType,
    Project,
    User,
    component_id,
    jira_time,
    sprint_of,
    version_id,
)

if TYPE_CHECKING:
    from .world import World

# fields whose v3 (Cloud) value is an ADF document instead of a wiki-markup string
RICH_TEXT = frozenset({"description", "environment"})

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


class Renderer:
    """Renders beans with ``self`` links under ``base`` (serverInfo's baseUrl)."""

    def __init__(
        self, base: str, cloud: bool = False, world: World | None = None, version: str = "2"
    ) -> None:
        self.base = base
        self.version = "3" if version == "3" else "2"
        self.api = f"{base}/rest/api/{self.version}"
        self.cloud = cloud
        self.adf = cloud and self.version == "3"
        self.world = world
        # One renderer serves one request: a search page names the same few users in every
        # issue and history entry, so each is built once (and never changed after).
        self._users: dict[tuple[int, bool], dict[str, Any]] = {}

    def rich(self, text: str | None) -> Any:
        """A rich-text value as this API version serves it (ADF on v3, the string on v2)."""
        return to_adf(text) if self.adf else text

    def schema(self, fid: str) -> dict[str, Any]:
        """A field's schema; Cloud's Sprint holds JSON objects where Data Center has strings."""
        schema = FIELDS_BY_ID[fid].schema
        if fid == SPRINT_FIELD and self.cloud:
            return dict(schema, items="json")
        return schema

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
        built = self._users.get((id(u), full))  # the world's users live as long as the request
        if built is None:
            built = self._users[(id(u), full)] = self._user(u, full)
        return built

    def _user(self, u: User, full: bool) -> dict[str, Any]:
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
                    "components": [self.component(p, i) for i in range(len(COMPONENTS))],
                    "issueTypes": [self.issuetype(t) for t in ISSUE_TYPES],
                    "assigneeType": "UNASSIGNED",
                    "versions": [self.version_bean(p, i) for i in range(len(VERSIONS))],
                    "roles": {},
                    "isPrivate": False,
                    "projectKeys": [p.key],
                }
            )
            if self.cloud:
                d["simplified"] = False
                d["style"] = "classic"
        return d

    def component(self, p: Project, i: int) -> dict[str, Any]:
        cid = component_id(p, i)
        return {"self": f"{self.api}/component/{cid}", "id": cid, "name": COMPONENTS[i]}

    def version_bean(self, p: Project, i: int) -> dict[str, Any]:
        vid = version_id(p, i)
        name, released, days = VERSIONS[i]
        d: dict[str, Any] = {
            "self": f"{self.api}/version/{vid}",
            "id": vid,
            "description": "",
            "name": name,
            "archived": False,
            "released": released,
            "projectId": p.id,
        }
        if days is not None:
            d["releaseDate"] = (EPOCH + timedelta(days=days)).date().isoformat()
        return d

    def _by_id(self, p: Project, ids: list[str], make: Any, count: int) -> list[dict[str, Any]]:
        beans = {b["id"]: b for b in (make(p, i) for i in range(count))}
        return [beans[i] for i in ids if i in beans]

    def resolution(self, rid: str) -> dict[str, Any]:
        name, desc = RESOLUTIONS[rid]
        return {
            "self": f"{self.api}/resolution/{rid}",
            "id": rid,
            "description": desc,
            "name": name,
        }

    def sprint(self, p: Project, k: int) -> str | dict[str, Any]:
        """Sprint ``k`` of a project: Data Center serialises it as the Java ``toString`` in a
        string, Cloud as a JSON object. The project's latest sprint is active."""
        start = EPOCH + timedelta(days=SPRINT_DAYS * k)
        end = start + timedelta(days=SPRINT_DAYS)
        last = sprint_of(EPOCH + timedelta(minutes=37 * max(p.issue_count, 1) + p.index * 11))
        active = k >= last
        sid = p.index * 1000 + k + 1
        name = f"{p.key} Sprint {k + 1}"
        if self.cloud:
            d: dict[str, Any] = {
                "id": sid,
                "name": name,
                "state": "active" if active else "closed",
                "boardId": p.index + 1,
                "goal": "",
                "startDate": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "endDate": end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            if not active:
                d["completeDate"] = d["endDate"]
            return d
        done = "<null>" if active else jira_time(end)
        return (
            f"com.atlassian.greenhopper.service.sprint.Sprint@{sid:x}[id={sid},"
            f"rapidViewId={p.index + 1},state={'ACTIVE' if active else 'CLOSED'},name={name},"
            f"startDate={jira_time(start)},endDate={jira_time(end)},completeDate={done},"
            f"sequence={sid},goal=]"
        )

    def linked(self, p: Project, n: int) -> dict[str, Any]:
        """The short form of another issue inside a link, sub-task list or parent."""
        ident = p.issue_id(n)
        fields: dict[str, Any] = {}
        if self.world is not None:
            other = self.world.issue(p, n).fields
            fields = {
                "summary": other.get("summary"),
                "status": self.status(other["status"]),
                "priority": self.priority(other["priority"]) if other.get("priority") else None,
                "issuetype": self.issuetype(ISSUE_TYPES_BY_ID[other["issuetype"]]),
            }
        return {
            "id": str(ident),
            "key": f"{p.key}-{n}",
            "self": f"{self.api}/issue/{ident}",
            "fields": fields,
        }

    def link(self, p: Project, raw: dict[str, Any]) -> dict[str, Any]:
        name, inward, outward = LINK_TYPES[raw["type"]]
        d: dict[str, Any] = {
            "id": raw["id"],
            "self": f"{self.api}/issueLink/{raw['id']}",
            "type": {
                "id": raw["type"],
                "name": name,
                "inward": inward,
                "outward": outward,
                "self": f"{self.api}/issueLinkType/{raw['type']}",
            },
        }
        if "outward" in raw:
            d["outwardIssue"] = self.linked(p, raw["outward"])
        else:
            d["inwardIssue"] = self.linked(p, raw["inward"])
        return d

    def timetracking(self, raw: dict[str, int]) -> dict[str, Any]:
        """Jira's time tracking bean; an issue without estimates has ``{}``."""
        if not raw:
            return {}
        d: dict[str, Any] = {}
        for name in ("originalEstimate", "remainingEstimate", "timeSpent"):
            seconds = raw.get(name + "Seconds")
            if seconds or (seconds == 0 and name == "remainingEstimate"):
                d[name] = jira_duration(seconds)
                d[name + "Seconds"] = seconds
        return d

    def worklog(self, issue: Issue, users: dict[str, User]) -> dict[str, Any]:
        logs = []
        for w in issue.fields.get("worklog") or []:
            author = self.user(users.get(w["author"]))
            logs.append(
                {
                    "self": f"{self.api}/issue/{issue.id}/worklog/{w['id']}",
                    "author": author,
                    "updateAuthor": author,
                    "comment": "",
                    "created": jira_time(w["started"]),
                    "updated": jira_time(w["started"]),
                    "started": jira_time(w["started"]),
                    "timeSpent": jira_duration(w["timeSpentSeconds"]),
                    "timeSpentSeconds": w["timeSpentSeconds"],
                    "id": w["id"],
                    "issueId": str(issue.id),
                }
            )
        return {"startAt": 0, "maxResults": 20, "total": len(logs), "worklogs": logs}

    def attachment(self, a: dict[str, Any], users: dict[str, User]) -> dict[str, Any]:
        return {
            "self": f"{self.api}/attachment/{a['id']}",
            "id": a["id"],
            "filename": a["filename"],
            "author": self.user(users.get(a["author"])),
            "created": jira_time(a["created"]),
            "size": a["size"],
            "mimeType": a["mimeType"],
            "content": f"{self.base}/secure/attachment/{a['id']}/{a['filename']}",
            "thumbnail": f"{self.base}/secure/thumbnail/{a['id']}/_thumb_{a['id']}.png",
        }

    def histories(self, issue: Issue, users: dict[str, User]) -> list[dict[str, Any]]:
        """The changelog entries, oldest first."""
        return [
            {
                "id": h["id"],
                "author": self.user(users.get(h["author"])),
                "created": jira_time(h["created"]),
                "items": h["items"],
            }
            for h in issue.histories
        ]

    def comment(self, c: dict[str, Any], issue: Issue, users: dict[str, User]) -> dict[str, Any]:
        author = self.user(users.get(c["author"]))
        return {
            "self": f"{self.api}/issue/{issue.id}/comment/{c['id']}",
            "id": c["id"],
            "author": author,
            "body": self.rich(c["body"]),
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
        if fid in RICH_TEXT:
            return self.rich(value)
        return self._structured(fid, value, issue, users)

    def _structured(self, fid: str, value: Any, issue: Issue, users: dict[str, User]) -> Any:
        """The fields whose stored form is compact (ids, numbers) and whose bean is built here."""
        p = issue.project
        if fid == "resolution":
            return self.resolution(value) if value else None
        if fid == "components":
            return self._by_id(p, value or [], self.component, len(COMPONENTS))
        if fid in ("fixVersions", "versions"):
            return self._by_id(p, value or [], self.version_bean, len(VERSIONS))
        if fid == "issuelinks":
            return [self.link(p, raw) for raw in value or []]
        if fid == "subtasks":  # the short issue form, like parent (not link objects)
            return [self.linked(p, m) for m in value or []]
        if fid == "parent":
            return self.linked(p, value) if value else None
        if fid == "timetracking":
            return self.timetracking(value or {})
        if fid == "votes":
            return {
                "self": f"{self.api}/issue/{issue.key}/votes",
                "votes": value or 0,
                "hasVoted": False,
            }
        if fid == "watches":
            return {
                "self": f"{self.api}/issue/{issue.key}/watchers",
                "watchCount": value or 0,
                "isWatching": False,
            }
        if fid == "worklog":
            return self.worklog(issue, users)
        if fid == "attachment":
            return [self.attachment(a, users) for a in value or []]
        if fid == SPRINT_FIELD:
            return None if value is None else [self.sprint(p, value)]
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
            hs = self.histories(issue, users)
            d["changelog"] = {
                "startAt": 0,
                "maxResults": len(hs),
                "total": len(hs),
                "histories": hs,
            }
        if "names" in expand:
            d["names"] = {f: FIELDS_BY_ID[f].name for f in fields if f in FIELDS_BY_ID}
        if "schema" in expand:
            d["schema"] = {f: self.schema(f) for f in fields if f in FIELDS_BY_ID}
        return d


def jira_duration(seconds: int) -> str:
    """Jira's duration text with its default 8-hour day and 5-day week: 28800 is ``1d``."""
    parts = []
    for unit, size in (("w", 144000), ("d", 28800), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"


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
    out: list[str] = []
    for f in chosen:
        if f not in removed and f not in out:
            out.append(f)
    return out
