"""The in-memory Jira world: users, projects, permission schemes, fields and issues.

Issues are generated deterministically and lazily from (project, number): a project of 100,000
issues costs a few integers. Only issues that were created, edited or deleted are stored.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload

# --- reference data (ids follow a default Jira install) -------------------------------------

STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# status id -> (name, category key)
STATUSES: dict[str, tuple[str, str]] = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("Done", "done"),
}
# transition id -> target status id (a simplified workflow: every transition is global)
TRANSITIONS: dict[str, str] = {"11": "10000", "21": "3", "31": "10001"}
PRIORITIES: dict[str, str] = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
DEFAULT_PRIORITY = "3"


@dataclass(frozen=True)
class IssueType:
    """An issue type as Jira lists it."""

    id: str
    name: str
    subtask: bool = False
    description: str = ""


ISSUE_TYPES: list[IssueType] = [
    IssueType("10002", "Task", description="A task that needs to be done."),
    IssueType("10004", "Bug", description="A problem which impairs or prevents the functions."),
    IssueType("10001", "Story", description="A user story."),
    IssueType("10003", "Sub-task", subtask=True, description="The sub-task of the issue"),
    IssueType("10000", "Epic", description="A big user story that needs to be broken down."),
]
# the types of generated issues other than the fixed epics and sub-tasks (see generate_fields)
GENERATED_TYPES = ("10002", "10004", "10001")
SUBTASK_TYPE = "10003"
EPIC_TYPE = "10000"
EPIC_EVERY = 50  # issues 1, 51, 101 ... of every project are epics
SUBTASK_EVERY = 10  # issues 10, 20, 30 ... are sub-tasks of the issue before them
ISSUE_TYPES_BY_ID = {t.id: t for t in ISSUE_TYPES}
ISSUE_TYPES_BY_NAME = {t.name.lower(): t for t in ISSUE_TYPES}


@dataclass(frozen=True)
class FieldDef:
    """A system or custom field (``/rest/api/2/field``)."""

    id: str
    name: str
    schema: dict[str, Any]
    custom: bool = False
    navigable: bool = True
    orderable: bool = True
    clause_names: tuple[str, ...] = ()
    on_create: bool = True
    on_edit: bool = True


FIELDS: list[FieldDef] = [
    FieldDef(
        "summary", "Summary", {"type": "string", "system": "summary"}, clause_names=("summary",)
    ),
    FieldDef(
        "issuetype",
        "Issue Type",
        {"type": "issuetype", "system": "issuetype"},
        clause_names=("issuetype", "type"),
    ),
    FieldDef(
        "project",
        "Project",
        {"type": "project", "system": "project"},
        clause_names=("project",),
        on_edit=False,
    ),
    FieldDef(
        "description",
        "Description",
        {"type": "string", "system": "description"},
        clause_names=("description",),
    ),
    FieldDef(
        "priority",
        "Priority",
        {"type": "priority", "system": "priority"},
        clause_names=("priority",),
    ),
    FieldDef(
        "labels",
        "Labels",
        {"type": "array", "items": "string", "system": "labels"},
        clause_names=("labels",),
    ),
    FieldDef(
        "assignee", "Assignee", {"type": "user", "system": "assignee"}, clause_names=("assignee",)
    ),
    FieldDef(
        "reporter", "Reporter", {"type": "user", "system": "reporter"}, clause_names=("reporter",)
    ),
    FieldDef(
        "status",
        "Status",
        {"type": "status", "system": "status"},
        clause_names=("status",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "created",
        "Created",
        {"type": "datetime", "system": "created"},
        clause_names=("created", "createdDate"),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "updated",
        "Updated",
        {"type": "datetime", "system": "updated"},
        clause_names=("updated", "updatedDate"),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "creator",
        "Creator",
        {"type": "user", "system": "creator"},
        clause_names=("creator",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "comment",
        "Comment",
        {"type": "comments-page", "system": "comment"},
        clause_names=("comment",),
        navigable=False,
        on_create=False,
    ),
    FieldDef(
        "customfield_10000",
        "Story Points",
        {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customId": 10000,
        },
        custom=True,
        clause_names=("cf[10000]", "Story Points"),
    ),
    FieldDef(
        "resolution",
        "Resolution",
        {"type": "resolution", "system": "resolution"},
        clause_names=("resolution",),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        clause_names=("resolutiondate", "resolved"),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "components",
        "Component/s",
        {"type": "array", "items": "component", "system": "components"},
        clause_names=("component",),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "fixVersions",
        "Fix Version/s",
        {"type": "array", "items": "version", "system": "fixVersions"},
        clause_names=("fixVersion",),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "versions",
        "Affects Version/s",
        {"type": "array", "items": "version", "system": "versions"},
        clause_names=("affectedVersion",),
        on_create=False,
        on_edit=False,
    ),
    FieldDef("duedate", "Due Date", {"type": "date", "system": "duedate"}, clause_names=("due",)),
    FieldDef(
        "environment",
        "Environment",
        {"type": "string", "system": "environment"},
        clause_names=("environment",),
    ),
    FieldDef(
        "issuelinks",
        "Linked Issues",
        {"type": "array", "items": "issuelinks", "system": "issuelinks"},
        clause_names=("issueLink",),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "subtasks",
        "Sub-Tasks",
        {"type": "array", "items": "issuelinks", "system": "subtasks"},
        clause_names=("subtasks",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    # Data Center lists "parent" without a schema. Issues without a parent carry "parent": null
    # here; some Jira leave the key out instead (clients must accept both).
    FieldDef(
        "parent",
        "Parent",
        {},
        clause_names=("parent",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "timetracking",
        "Time tracking",
        {"type": "timetracking", "system": "timetracking"},
        navigable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "votes",
        "Votes",
        {"type": "votes", "system": "votes"},
        clause_names=("votes",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "watches",
        "Watchers",
        {"type": "watches", "system": "watches"},
        clause_names=("watchers",),
        orderable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "worklog",
        "Log Work",
        {"type": "array", "items": "worklog", "system": "worklog"},
        navigable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "attachment",
        "Attachment",
        {"type": "array", "items": "attachment", "system": "attachment"},
        clause_names=("attachments",),
        navigable=False,
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "customfield_10104",
        "Sprint",
        {
            "type": "array",
            "items": "string",
            "custom": "com.pyxis.greenhopper.jira:gh-sprint",
            "customId": 10104,
        },
        custom=True,
        clause_names=("cf[10104]", "Sprint"),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "customfield_10102",
        "Epic Link",
        {
            "type": "any",
            "custom": "com.pyxis.greenhopper.jira:gh-epic-link",
            "customId": 10102,
        },
        custom=True,
        clause_names=("cf[10102]", "Epic Link"),
        on_create=False,
        on_edit=False,
    ),
    FieldDef(
        "customfield_10100",
        "Customer Impact",
        {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "customId": 10100,
        },
        custom=True,
        clause_names=("cf[10100]", "Customer Impact"),
    ),
]
FIELDS_BY_ID = {f.id: f for f in FIELDS}
FIELDS_BY_NAME = {f.name.lower(): f for f in FIELDS}
SPRINT_FIELD = "customfield_10104"
EPIC_LINK_FIELD = "customfield_10102"
STORY_POINTS_FIELD = "customfield_10000"
NAVIGABLE_FIELDS = [f.id for f in FIELDS if f.navigable]
ALL_FIELDS = [f.id for f in FIELDS]

# --- permissions ------------------------------------------------------------------------------

# key -> (id, name, type); the new keys Jira 6.3+ uses
PERMISSIONS: dict[str, tuple[str, str, str]] = {
    "ADMINISTER": ("0", "Jira Administrators", "GLOBAL"),
    "SYSTEM_ADMIN": ("44", "Jira System Administrators", "GLOBAL"),
    "USE": ("1", "Jira Users", "GLOBAL"),
    "USER_PICKER": ("27", "Browse Users", "GLOBAL"),
    "CREATE_SHARED_OBJECTS": ("22", "Create Shared Objects", "GLOBAL"),
    "MANAGE_GROUP_FILTER_SUBSCRIPTIONS": ("24", "Manage Group Filter Subscriptions", "GLOBAL"),
    "BULK_CHANGE": ("33", "Bulk Change", "GLOBAL"),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", "PROJECT"),
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT"),
    "VIEW_DEV_TOOLS": ("29", "View Development Tools", "PROJECT"),
    "VIEW_READONLY_WORKFLOW": ("45", "View Read-Only Workflow", "PROJECT"),
    "CREATE_ISSUES": ("11", "Create Issues", "PROJECT"),
    "EDIT_ISSUES": ("12", "Edit Issues", "PROJECT"),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "PROJECT"),
    "SCHEDULE_ISSUES": ("28", "Schedule Issues", "PROJECT"),
    "MOVE_ISSUES": ("25", "Move Issues", "PROJECT"),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "PROJECT"),
    "ASSIGNABLE_USER": ("17", "Assignable User", "PROJECT"),
    "RESOLVE_ISSUES": ("14", "Resolve Issues", "PROJECT"),
    "CLOSE_ISSUES": ("18", "Close Issues", "PROJECT"),
    "MODIFY_REPORTER": ("30", "Modify Reporter", "PROJECT"),
    "DELETE_ISSUES": ("16", "Delete Issues", "PROJECT"),
    "LINK_ISSUES": ("21", "Link Issues", "PROJECT"),
    "SET_ISSUE_SECURITY": ("26", "Set Issue Security", "PROJECT"),
    "VIEW_VOTERS_AND_WATCHERS": ("31", "View Voters and Watchers", "PROJECT"),
    "MANAGE_WATCHERS": ("32", "Manage Watchers", "PROJECT"),
    "ADD_COMMENTS": ("15", "Add Comments", "PROJECT"),
    "EDIT_ALL_COMMENTS": ("34", "Edit All Comments", "PROJECT"),
    "EDIT_OWN_COMMENTS": ("35", "Edit Own Comments", "PROJECT"),
    "DELETE_ALL_COMMENTS": ("36", "Delete All Comments", "PROJECT"),
    "DELETE_OWN_COMMENTS": ("37", "Delete Own Comments", "PROJECT"),
    "CREATE_ATTACHMENTS": ("19", "Create Attachments", "PROJECT"),
    "DELETE_ALL_ATTACHMENTS": ("38", "Delete All Attachments", "PROJECT"),
    "DELETE_OWN_ATTACHMENTS": ("39", "Delete Own Attachments", "PROJECT"),
    "WORK_ON_ISSUES": ("20", "Work On Issues", "PROJECT"),
    "EDIT_OWN_WORKLOGS": ("40", "Edit Own Worklogs", "PROJECT"),
    "EDIT_ALL_WORKLOGS": ("41", "Edit All Worklogs", "PROJECT"),
    "DELETE_OWN_WORKLOGS": ("42", "Delete Own Worklogs", "PROJECT"),
    "DELETE_ALL_WORKLOGS": ("43", "Delete All Worklogs", "PROJECT"),
}
# deprecated alias -> new key. Data Center returns both, the alias flagged deprecatedKey: true.
DEPRECATED_ALIASES: dict[str, str] = {
    "BROWSE": "BROWSE_PROJECTS",
    "CREATE_ISSUE": "CREATE_ISSUES",
    "EDIT_ISSUE": "EDIT_ISSUES",
    "ASSIGN_ISSUE": "ASSIGN_ISSUES",
    "RESOLVE_ISSUE": "RESOLVE_ISSUES",
    "COMMENT_ISSUE": "ADD_COMMENTS",
    "DELETE_ISSUE": "DELETE_ISSUES",
    "CLOSE_ISSUE": "CLOSE_ISSUES",
    "CREATE_ATTACHMENT": "CREATE_ATTACHMENTS",
    "WORK_ISSUE": "WORK_ON_ISSUES",
    "LINK_ISSUE": "LINK_ISSUES",
    "PROJECT_ADMIN": "ADMINISTER_PROJECTS",
    "MOVE_ISSUE": "MOVE_ISSUES",
    "SCHEDULE_ISSUE": "SCHEDULE_ISSUES",
    "VIEW_VERSION_CONTROL": "VIEW_DEV_TOOLS",
    "VIEW_WORKFLOW_READONLY": "VIEW_READONLY_WORKFLOW",
    "COMMENT_EDIT_ALL": "EDIT_ALL_COMMENTS",
    "COMMENT_EDIT_OWN": "EDIT_OWN_COMMENTS",
    "COMMENT_DELETE_ALL": "DELETE_ALL_COMMENTS",
    "COMMENT_DELETE_OWN": "DELETE_OWN_COMMENTS",
    "ATTACHMENT_DELETE_ALL": "DELETE_ALL_ATTACHMENTS",
    "ATTACHMENT_DELETE_OWN": "DELETE_OWN_ATTACHMENTS",
    "WORKLOG_EDIT_OWN": "EDIT_OWN_WORKLOGS",
    "WORKLOG_EDIT_ALL": "EDIT_ALL_WORKLOGS",
    "WORKLOG_DELETE_OWN": "DELETE_OWN_WORKLOGS",
    "WORKLOG_DELETE_ALL": "DELETE_ALL_WORKLOGS",
}
PROJECT_PERMISSIONS = frozenset(k for k, v in PERMISSIONS.items() if v[2] == "PROJECT")
ALL_USER_GLOBALS = frozenset(
    {
        "USE",
        "USER_PICKER",
        "CREATE_SHARED_OBJECTS",
        "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
        "BULK_CHANGE",
    }
)
WRITE_PERMISSIONS = frozenset(
    {
        "CREATE_ISSUES",
        "EDIT_ISSUES",
        "ADD_COMMENTS",
        "TRANSITION_ISSUES",
        "DELETE_ISSUES",
        "RESOLVE_ISSUES",
        "CLOSE_ISSUES",
        "ASSIGN_ISSUES",
        "LINK_ISSUES",
        "MOVE_ISSUES",
        "SCHEDULE_ISSUES",
        "CREATE_ATTACHMENTS",
        "WORK_ON_ISSUES",
        "EDIT_OWN_COMMENTS",
        "DELETE_OWN_COMMENTS",
        "MODIFY_REPORTER",
        "MANAGE_WATCHERS",
    }
)
READ_PERMISSIONS = frozenset(
    {
        "BROWSE_PROJECTS",
        "VIEW_DEV_TOOLS",
        "VIEW_READONLY_WORKFLOW",
        "VIEW_VOTERS_AND_WATCHERS",
        "ASSIGNABLE_USER",
    }
)
FULL_USER_PERMISSIONS = READ_PERMISSIONS | WRITE_PERMISSIONS


def jira_time(dt: datetime) -> str:
    """Jira's timestamp format: ``yyyy-MM-dd'T'HH:mm:ss.SSS+0000``.

    From ``isoformat`` (its offset without the colon): strftime is several times slower, and
    a large search renders a few timestamps per issue and history entry."""
    text = dt.isoformat(timespec="milliseconds")
    return text[:-3] + text[-2:] if dt.utcoffset() is not None else text


def now() -> datetime:
    """The current time in UTC (one place, so tests could freeze it)."""
    return datetime.now(UTC)


EPOCH = datetime(2023, 1, 2, 9, 0, 0, tzinfo=UTC)


# --- users ------------------------------------------------------------------------------------


@dataclass
class Token:
    """A personal access token (DC 8.14+); only its metadata is ever listed."""

    id: int
    name: str
    raw: str
    created: datetime
    expiring: datetime | None


@dataclass
class User:
    """A Jira user. ``key`` follows DC 8.x+ (``JIRAUSER<n>``); Cloud uses ``account_id``."""

    name: str
    password: str
    display_name: str
    email: str
    key: str = ""
    admin: bool = False
    active: bool = True
    groups: list[str] = field(default_factory=lambda: ["jira-software-users"])
    tokens: list[Token] = field(default_factory=list)
    failed_logins: int = 0
    captcha: bool = False
    login_count: int = 0

    @property
    def account_id(self) -> str:
        """A stable Cloud-style account id derived from the name."""
        return "5b10ac8d" + hashlib.sha1(self.name.encode()).hexdigest()[:16]


@dataclass
class Grant:
    """One permission-scheme grant (holder type ``user``, ``group``, ``anyone``,
    ``applicationRole``)."""

    holder_type: str
    parameter: str | None
    permission: str


@dataclass
class PermissionScheme:
    """A permission scheme; projects point at one."""

    id: int
    name: str
    grants: list[Grant] = field(default_factory=list)
    description: str = ""


# --- projects and issues ----------------------------------------------------------------------


@dataclass
class Project:
    """A project with ``issue_count`` generated issues numbered 1..issue_count."""

    key: str
    name: str
    id: int
    index: int
    lead: str = "admin"
    issue_count: int = 0
    scheme_id: int = 0
    project_type: str = "software"
    description: str = ""
    required_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # type name -> ids
    next_number: int = 0
    deleted: list[int] = field(default_factory=list)  # sorted issue numbers

    def __post_init__(self) -> None:
        if not self.next_number:
            self.next_number = self.issue_count + 1

    def numbers(self) -> NumberSeq:
        """The existing issue numbers, ascending, as a lazy sequence."""
        return NumberSeq(self.next_number - 1, self.deleted)

    def issue_id(self, number: int) -> int:
        """Issue ids encode (project index, number) so no lookup table is needed."""
        return 10000 + self.index * 1_000_000 + number


class NumberSeq(Sequence[int]):
    """``1..top`` minus a sorted list of excluded numbers, without materialising it."""

    def __init__(self, top: int, excluded: list[int]) -> None:
        self.top = top
        self.excluded = excluded

    def __len__(self) -> int:
        return self.top - len(self.excluded)

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> list[int]: ...

    def __getitem__(self, i: int | slice) -> int | list[int]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        if not self.excluded:
            return i + 1
        # find the smallest x with x - (#excluded <= x) == i + 1 and x not excluded
        x = i + 1
        while True:
            c = bisect.bisect_right(self.excluded, x)
            nx = i + 1 + c
            if nx == x:
                return x
            x = nx

    def __iter__(self) -> Iterator[int]:
        ex = set(self.excluded)
        return (x for x in range(1, self.top + 1) if x not in ex)


@dataclass
class Issue:
    """A materialised issue (created, edited, or generated on demand for one response)."""

    project: Project
    number: int
    fields: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)
    generated: bool = True
    # None until first read: a generated issue's changelog is built only when someone asks
    stored_histories: list[dict[str, Any]] | None = None

    @property
    def histories(self) -> list[dict[str, Any]]:
        """The changelog, oldest first (generated issues start with their seeded history)."""
        if self.stored_histories is None:
            self.stored_histories = generate_histories(self.project, self.number, self.fields)
        return self.stored_histories

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    @property
    def id(self) -> int:
        return self.project.issue_id(self.number)


_LABEL_CYCLE: tuple[list[str], ...] = (
    ["backend"],
    ["frontend"],
    [],
    ["backend", "customer"],
    [],
    ["ops"],
)
_WORDS = ("Fix", "Improve", "Refactor", "Document", "Investigate", "Migrate", "Review")
_THINGS = (
    "login page",
    "export job",
    "search index",
    "billing report",
    "API client",
    "mobile layout",
    "release notes",
    "alerting rule",
)
COMPONENTS = ("Backend", "Frontend", "API")
# name, released, release date (days after EPOCH) or None
VERSIONS: tuple[tuple[str, bool, int | None], ...] = (
    ("1.0", True, 30),
    ("1.1", True, 90),
    ("2.0", False, None),
)
# link type id -> (name, inward, outward)
LINK_TYPES: dict[str, tuple[str, str, str]] = {
    "10000": ("Blocks", "is blocked by", "blocks"),
    "10003": ("Relates", "relates to", "relates to"),
}
# resolution id -> (name, description)
RESOLUTIONS: dict[str, tuple[str, str]] = {
    "10000": ("Done", "Work has been completed on this issue."),
}
DONE_RESOLUTION = "10000"
SPRINT_DAYS = 14
_ESTIMATE = 28800  # one (8-hour) day
_SPENT = {"new": 0, "indeterminate": 14400, "done": 28800}


def component_id(project: Project, i: int) -> str:
    return str(10000 + project.index * 10 + i)


def version_id(project: Project, i: int) -> str:
    return str(10000 + project.index * 10 + i)


def _hash(project: Project, n: int) -> int:
    return (n * 2654435761 + project.index * 97) & 0xFFFFFFFF


def _exists(project: Project, n: int) -> bool:
    if not 1 <= n < project.next_number:
        return False
    pos = bisect.bisect_left(project.deleted, n)
    return not (pos < len(project.deleted) and project.deleted[pos] == n)


def _created(project: Project, n: int) -> datetime:
    return EPOCH + timedelta(minutes=37 * n + project.index * 11)


def sprint_of(created: datetime) -> int:
    """The index of the two-week sprint a generated issue created at ``created`` belongs to."""
    return (created - EPOCH).days // SPRINT_DAYS


def empty_fields() -> dict[str, Any]:
    """The values of every field that a new issue does not set: Jira's nulls and empties."""
    return {
        "description": None,
        "priority": DEFAULT_PRIORITY,
        "labels": [],
        "assignee": None,
        "resolution": None,
        "resolutiondate": None,
        "components": [],
        "fixVersions": [],
        "versions": [],
        "duedate": None,
        "environment": None,
        "issuelinks": [],
        "subtasks": [],
        "parent": None,
        "timetracking": {},
        "votes": 0,
        "watches": 1,
        "worklog": [],
        "attachment": [],
        STORY_POINTS_FIELD: None,
        SPRINT_FIELD: None,
        EPIC_LINK_FIELD: None,
        "customfield_10100": None,
    }


def _links(project: Project, n: int, h: int) -> list[dict[str, Any]]:
    """Issue ``n`` blocks ``n - 1`` when its hash says so; the other side sees it inward."""
    out: list[dict[str, Any]] = []
    if n > 2 and h % 7 == 0 and n % SUBTASK_EVERY and _exists(project, n - 1):
        out.append({"id": str(project.issue_id(n)), "type": "10000", "outward": n - 1})
    m = n + 1
    if m > 2 and _hash(project, m) % 7 == 0 and m % SUBTASK_EVERY and _exists(project, m):
        out.append({"id": str(project.issue_id(m)), "type": "10000", "inward": m})
    return out


def generate_fields(project: Project, n: int) -> dict[str, Any]:
    """Deterministic field values of generated issue ``n`` of ``project``.

    Every issue of a project is a pure function of (project, n), so nothing is stored for it;
    the optional fields mostly hold Jira's null or empty value, as on a real instance.
    """
    h = _hash(project, n)
    created = _created(project, n)
    updated = created + timedelta(hours=h % 200)
    status = ("10000", "3", "10001")[h % 3]
    category = STATUSES[status][1]
    if n % EPIC_EVERY == 1:
        itype = EPIC_TYPE
    elif n % SUBTASK_EVERY == 0:
        itype = SUBTASK_TYPE
    else:
        itype = GENERATED_TYPES[(h >> 5) % len(GENERATED_TYPES)]
    bug = itype == "10004"
    done = category == "done"
    spent = _SPENT[category] if h % 4 == 1 else 0
    epic = ((n - 1) // EPIC_EVERY) * EPIC_EVERY + 1
    fields = empty_fields()
    fields.update(
        {
            "summary": f"{_WORDS[h % len(_WORDS)]} {_THINGS[(h >> 3) % len(_THINGS)]} "
            f"({project.key} #{n})",
            "description": f"Generated issue {n} of project {project.name}.",
            "issuetype": itype,
            "status": status,
            "priority": str(1 + (h >> 7) % 5),
            "labels": list(_LABEL_CYCLE[n % len(_LABEL_CYCLE)]),
            "created": created,
            "updated": updated,
            "reporter": project.lead,
            "assignee": None if h % 4 == 0 else project.lead,
            "creator": project.lead,
            "resolution": DONE_RESOLUTION if done else None,
            "resolutiondate": updated if done else None,
            "components": [] if h % 3 == 0 else [component_id(project, (h >> 9) % 3)],
            "fixVersions": [version_id(project, (h >> 11) % 2)]
            if done
            else ([version_id(project, 2)] if h % 5 == 1 else []),
            "versions": [version_id(project, (h >> 11) % 2)] if bug and h % 2 else [],
            "duedate": (created + timedelta(days=14)).date().isoformat() if h % 5 == 0 else None,
            "environment": "Production; Chrome 120 on Windows 11" if bug and h % 2 else None,
            "issuelinks": _links(project, n, h),
            "subtasks": [n + 1] if (n + 1) % SUBTASK_EVERY == 0 and _exists(project, n + 1) else [],
            "parent": n - 1 if itype == SUBTASK_TYPE else None,
            "timetracking": {
                "originalEstimateSeconds": _ESTIMATE,
                "remainingEstimateSeconds": _ESTIMATE - spent,
                "timeSpentSeconds": spent,
            }
            if h % 4 == 1
            else {},
            "votes": (h >> 13) % 3 if h % 9 == 0 else 0,
            "watches": 1 + (h >> 15) % 3,
            "worklog": [
                {
                    "id": str(project.issue_id(n)),
                    "author": project.lead,
                    "started": created + timedelta(hours=1),
                    "timeSpentSeconds": spent,
                }
            ]
            if spent
            else [],
            "attachment": [
                {
                    "id": str(project.issue_id(n)),
                    "filename": f"screenshot-{n}.png",
                    "author": project.lead,
                    "created": created + timedelta(minutes=10),
                    "size": 2048 + h % 60000,
                    "mimeType": "image/png",
                }
            ]
            if h % 11 == 0
            else [],
            STORY_POINTS_FIELD: float(h % 13) if h % 2 else None,
            SPRINT_FIELD: None
            if itype == EPIC_TYPE or (category == "new" and h % 2 == 0)
            else sprint_of(created),
            EPIC_LINK_FIELD: f"{project.key}-{epic}"
            if itype not in (EPIC_TYPE, SUBTASK_TYPE) and h % 3 and _exists(project, epic)
            else None,
        }
    )
    return fields


def _item(
    field_id: str, old: tuple[str | None, str | None], new: tuple[str | None, str | None]
) -> dict[str, Any]:
    return {
        "field": field_id,
        "fieldtype": "jira",
        "from": old[0],
        "fromString": old[1],
        "to": new[0],
        "toString": new[1],
    }


def generate_histories(project: Project, n: int, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The changelog of generated issue ``n``: an edit after creation, then each status change
    (the move to Done also sets the resolution), spread between ``created`` and ``updated``."""
    created: datetime = fields["created"]
    span = fields["updated"] - created
    prio = fields["priority"]
    if prio != DEFAULT_PRIORITY:
        first = [
            _item(
                "priority",
                (DEFAULT_PRIORITY, PRIORITIES[DEFAULT_PRIORITY]),
                (prio, PRIORITIES[prio]),
            )
        ]
    else:
        first = [_item("description", (None, None), (None, fields["description"]))]
    entries = [first]
    category = STATUSES[fields["status"]][1]
    if category != "new":
        entries.append([_item("status", ("10000", "To Do"), ("3", "In Progress"))])
    if category == "done":
        entries.append(
            [
                _item("status", ("3", "In Progress"), ("10001", "Done")),
                _item("resolution", (None, None), (DONE_RESOLUTION, "Done")),
            ]
        )
    base = project.issue_id(n)
    return [
        {
            "id": f"{base}{k}",
            "author": project.lead,
            "created": created + span * (k + 1) / len(entries) if span else created,
            "items": items,
        }
        for k, items in enumerate(entries)
    ]


class World:
    """All state of one emulated Jira. Methods are guarded by one lock (the server is threaded)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.schemes: dict[int, PermissionScheme] = {}
        self.stored: dict[str, Issue] = {}  # created or edited issues by key
        self.created_keys: list[str] = []
        self.deleted_keys: list[str] = []
        self.edited_keys: list[str] = []
        self.public_projects: set[str] = set()  # anonymous may browse
        self._next_comment_id = 10000
        self._next_history_id = 20000
        self._next_token_id = 1
        self._next_scheme_id = 10100
        self._next_user_key = 10100

    # -- users --
    def add_user(
        self,
        name: str,
        password: str,
        display_name: str,
        email: str,
        admin: bool = False,
        token: str | None = None,
    ) -> User:
        """Create a user (and optionally a PAT whose raw value is ``token``)."""
        with self.lock:
            user = User(
                name,
                password,
                display_name,
                email,
                key=f"JIRAUSER{self._next_user_key}",
                admin=admin,
            )
            self._next_user_key += 1
            if admin:
                user.groups = ["jira-administrators", "jira-software-users"]
            self.users[name] = user
            if token:
                self.add_token(user, "visor", token)
            return user

    def add_token(self, user: User, name: str, raw: str, days: int | None = 90) -> Token:
        """Give ``user`` a personal access token."""
        with self.lock:
            created = now()
            tok = Token(
                self._next_token_id,
                name,
                raw,
                created,
                created + timedelta(days=days) if days else None,
            )
            self._next_token_id += 1
            user.tokens.append(tok)
            return tok

    def user_by_token(self, raw: str) -> User | None:
        """The active user owning this (unexpired) PAT."""
        t = now()
        for u in self.users.values():
            for tok in u.tokens:
                if tok.raw == raw and (tok.expiring is None or tok.expiring > t):
                    return u
        return None

    def user_by_login(self, login: str) -> User | None:
        """Find by name or (Cloud) e-mail address."""
        if login in self.users:
            return self.users[login]
        for u in self.users.values():
            if u.email.lower() == login.lower():
                return u
        return None

    # -- projects and permissions --
    def add_project(
        self, key: str, name: str, issues: int, scheme_id: int, lead: str = "admin"
    ) -> Project:
        """Add a project with ``issues`` generated issues."""
        with self.lock:
            index = len(self.projects)
            p = Project(
                key,
                name,
                10000 + index,
                index,
                lead=lead,
                issue_count=issues,
                scheme_id=scheme_id,
                description=f"The {name} project",
            )
            self.projects[key] = p
            return p

    def add_scheme(
        self, name: str, grants: list[Grant], scheme_id: int | None = None
    ) -> PermissionScheme:
        """Add a permission scheme."""
        with self.lock:
            sid = scheme_id if scheme_id is not None else self._next_scheme_id
            self._next_scheme_id = max(self._next_scheme_id, sid) + 1
            s = PermissionScheme(sid, name, grants)
            self.schemes[sid] = s
            return s

    def project(self, key_or_id: str) -> Project | None:
        """Find a project by key (case-insensitive) or numeric id."""
        p = self.projects.get(str(key_or_id).upper())
        if p:
            return p
        if str(key_or_id).isdigit():
            for p in self.projects.values():
                if p.id == int(key_or_id):
                    return p
        return None

    def has(self, user: User | None, permission: str, project: Project | None = None) -> bool:
        """Whether ``user`` (None = anonymous) holds ``permission`` (in ``project``)."""
        permission = DEPRECATED_ALIASES.get(permission, permission)
        kind = PERMISSIONS.get(permission, ("", "", "PROJECT"))[2]
        if user is not None and user.admin:
            return True
        if kind == "GLOBAL":
            return user is not None and permission in ALL_USER_GLOBALS
        if project is None:
            return any(self.has(user, permission, p) for p in self.projects.values())
        if user is None and permission in READ_PERMISSIONS and project.key in self.public_projects:
            return True
        scheme = self.schemes.get(project.scheme_id)
        if scheme is None:
            return False
        for g in scheme.grants:
            if g.permission != permission:
                continue
            if g.holder_type == "anyone":
                return True
            if user is None:
                continue
            if (
                g.holder_type == "applicationRole"
                or (g.holder_type == "user" and g.parameter == user.name)
                or (g.holder_type == "group" and g.parameter in user.groups)
            ):
                return True
        return False

    def visible_projects(self, user: User | None) -> list[Project]:
        """Projects the user may browse, in key order (as /project lists them)."""
        return sorted(
            (p for p in self.projects.values() if self.has(user, "BROWSE_PROJECTS", p)),
            key=lambda p: p.key,
        )

    # -- issues --
    def parse_key(self, key_or_id: str) -> tuple[Project, int] | None:
        """Resolve an issue key or id to (project, number) if the issue exists."""
        s = str(key_or_id).strip()
        if s.isdigit():
            i = int(s) - 10000
            idx, n = divmod(i, 1_000_000)
            proj = next((p for p in self.projects.values() if p.index == idx), None)
        else:
            pk, _, num = s.upper().rpartition("-")
            proj = self.projects.get(pk)
            n = int(num) if num.isdigit() else -1
        if proj is None or not 1 <= n < proj.next_number:
            return None
        pos = bisect.bisect_left(proj.deleted, n)
        if pos < len(proj.deleted) and proj.deleted[pos] == n:
            return None
        return proj, n

    def issue(self, project: Project, n: int) -> Issue:
        """The issue (stored if it was touched, generated otherwise)."""
        key = f"{project.key}-{n}"
        stored = self.stored.get(key)
        if stored is not None:
            return stored
        return Issue(project, n, generate_fields(project, n))

    def field_value(self, project: Project, n: int, field_id: str) -> Any:
        """One field of an issue, without building the whole issue when it is generated."""
        stored = self.stored.get(f"{project.key}-{n}")
        if stored is not None:
            return stored.fields.get(field_id)
        return generate_fields(project, n).get(field_id)

    def materialise(self, project: Project, n: int) -> Issue:
        """Store a generated issue so that it can be changed."""
        with self.lock:
            issue = self.issue(project, n)
            if issue.generated:
                _ = issue.histories  # keep the seeded changelog before the issue changes
                issue.generated = False
                self.stored[issue.key] = issue
            return issue

    def create_issue(self, project: Project, fields: dict[str, Any], reporter: User) -> Issue:
        """Store a new issue with the next number of the project."""
        with self.lock:
            n = project.next_number
            project.next_number += 1
            t = now()
            base = empty_fields()
            base.update(
                {
                    "summary": "",
                    "issuetype": "10002",
                    "status": "10000",
                    "created": t,
                    "updated": t,
                    "reporter": reporter.name,
                    "creator": reporter.name,
                }
            )
            base.update(fields)
            issue = Issue(project, n, base, generated=False, stored_histories=[])
            self.stored[issue.key] = issue
            self.created_keys.append(issue.key)
            return issue

    def delete_issue(self, project: Project, n: int) -> None:
        """Delete an issue (generated ones are remembered as gaps)."""
        with self.lock:
            key = f"{project.key}-{n}"
            self.stored.pop(key, None)
            bisect.insort(project.deleted, n)
            self.deleted_keys.append(key)

    def add_comment(self, issue: Issue, author: User, body: str) -> dict[str, Any]:
        """Append a comment (the issue must be materialised)."""
        with self.lock:
            t = now()
            c = {
                "id": str(self._next_comment_id),
                "author": author.name,
                "body": body,
                "created": t,
                "updated": t,
            }
            self._next_comment_id += 1
            issue.comments.append(c)
            issue.fields["updated"] = t
            return c

    def add_history(self, issue: Issue, author: User, items: list[dict[str, Any]]) -> None:
        """Record a changelog entry."""
        with self.lock:
            issue.histories.append(
                {
                    "id": str(self._next_history_id),
                    "author": author.name,
                    "created": now(),
                    "items": items,
                }
            )
            self._next_history_id += 1
            if issue.key not in self.edited_keys:
                self.edited_keys.append(issue.key)

    def issues_with_label(self, label: str) -> list[str]:
        """Keys of every existing issue carrying ``label`` (for test assertions)."""
        with self.lock:
            keys = [k for k, i in self.stored.items() if label in (i.fields.get("labels") or [])]
            for p in self.projects.values():
                for n in p.numbers():
                    k = f"{p.key}-{n}"
                    if k in self.stored:
                        continue
                    if label in _LABEL_CYCLE[n % len(_LABEL_CYCLE)]:
                        keys.append(k)
            return sorted(set(keys))
