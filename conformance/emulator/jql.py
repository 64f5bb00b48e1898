"""The JQL subset the integration and the suite use, with Jira's error messages.

Supported: ``field op value`` clauses on project, key/issuekey, id, labels, issuetype/type,
status, priority, summary/description/text (``~``), reporter/assignee (``currentUser()``),
created/updated (date comparisons); ``=``, ``!=``, ``~``, ``IN``, ``NOT IN``, ``IS [NOT] EMPTY``,
``<``/``<=``/``>``/``>=``; ``AND``, ``OR``, ``NOT``, parentheses; ``ORDER BY f [ASC|DESC], ...``.

Execution never materialises a project's issues when the query only restricts projects and
orders by key, id or created: a 100,000-issue project is paged by index arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from .world import (
    ISSUE_TYPES_BY_ID,
    PRIORITIES,
    STATUSES,
    Project,
    User,
    World,
    now,
)


class JqlError(Exception):
    """A query Jira would reject with 400 ``{"errorMessages":[message],"errors":{}}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Clause:
    field: str
    op: str
    values: list[str]


@dataclass
class BoolNode:
    op: str  # AND | OR
    children: list[Node]


@dataclass
class NotNode:
    child: Node


Node = Clause | BoolNode | NotNode


@dataclass
class Query:
    where: Node | None
    order: list[tuple[str, str]] = field(default_factory=list)


_OPS = ("!=", "!~", "<=", ">=", "=", "~", "<", ">")
_VALID_OPS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<open>["'])|(?P<op>!=|!~|<=|>=|=|~|<|>)
    |(?P<punct>[(),])|(?P<word>[^\s"'(),=!~<>]+(?:\(\))?))""",
    re.VERBOSE,
)
FIELDS = {
    "project",
    "key",
    "issuekey",
    "id",
    "labels",
    "issuetype",
    "type",
    "status",
    "priority",
    "summary",
    "description",
    "text",
    "reporter",
    "assignee",
    "created",
    "createddate",
    "updated",
    "updateddate",
}
_SORTABLE = FIELDS - {"text", "labels", "description"}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int
    quoted: bool = False


def _tokenize(jql: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        m = _TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            ch = jql[pos:].lstrip()[:1]
            raise JqlError(
                f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. "
                f"You must enclose it in a string or use the escape '\\u{ord(ch):04x}' instead. "
                f"(line 1, character {pos + 1})"
            )
        start = m.start(m.lastgroup or 0) + 1
        if m.group("open"):
            rest = jql[m.start("open") + 1 :]
            raise JqlError(
                f"Error in the JQL Query: The quoted string '{rest}' has not been completed. "
                f"(line 1, character {start})"
            )
        if m.group("str"):
            raw = m.group("str")[1:-1]
            toks.append(_Tok("word", re.sub(r"\\(.)", r"\1", raw), start, quoted=True))
        elif m.group("op"):
            toks.append(_Tok("op", m.group("op"), start))
        elif m.group("punct"):
            toks.append(_Tok(m.group("punct"), m.group("punct"), start))
        else:
            toks.append(_Tok("word", m.group("word"), start))
        pos = m.end()
    return toks


class _Parser:
    def __init__(self, jql: str) -> None:
        self.toks = _tokenize(jql)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def kw(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and not t.quoted and t.text.upper() in words

    def next(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise JqlError("Error in the JQL Query: The JQL query is incomplete.")
        self.i += 1
        return t

    def parse(self) -> Query:
        where: Node | None = None
        if self.peek() is not None and not self.kw("ORDER"):
            where = self.parse_or()
        order: list[tuple[str, str]] = []
        if self.kw("ORDER"):
            self.next()
            if not self.kw("BY"):
                t = self.peek()
                got = t.text if t else "end of query"
                raise JqlError(
                    f"Error in the JQL Query: Expecting 'BY' but got '{got}'. "
                    f"(line 1, character {t.pos if t else 0})"
                )
            self.next()
            while True:
                t = self.next()
                if t.kind != "word":
                    raise JqlError(
                        f"Error in the JQL Query: Expecting a field name but got '{t.text}'. "
                        f"(line 1, character {t.pos})"
                    )
                direction = "ASC"
                if self.kw("ASC", "DESC"):
                    direction = self.next().text.upper()
                order.append((t.text.lower(), direction))
                if self.peek() is not None and self.peek().kind == ",":  # type: ignore[union-attr]
                    self.next()
                    continue
                break
        t = self.peek()
        if t is not None:
            raise JqlError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{t.text}'. "
                f"(line 1, character {t.pos})"
            )
        return Query(where, order)

    def parse_or(self) -> Node:
        nodes = [self.parse_and()]
        while self.kw("OR"):
            self.next()
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else BoolNode("OR", nodes)

    def parse_and(self) -> Node:
        nodes = [self.parse_not()]
        while self.kw("AND"):
            self.next()
            nodes.append(self.parse_not())
        return nodes[0] if len(nodes) == 1 else BoolNode("AND", nodes)

    def parse_not(self) -> Node:
        if self.kw("NOT"):
            self.next()
            return NotNode(self.parse_not())
        t = self.peek()
        if t is not None and t.kind == "(":
            self.next()
            node = self.parse_or()
            close = self.peek()
            if close is None or close.kind != ")":
                got = close.text if close else "end of query"
                raise JqlError(
                    f"Error in the JQL Query: Expecting ')' but got '{got}'. "
                    f"(line 1, character {close.pos if close else 0})"
                )
            self.next()
            return node
        return self.parse_clause()

    def parse_clause(self) -> Clause:
        t = self.next()
        if t.kind != "word":
            raise JqlError(
                f"Error in the JQL Query: Expecting a field name but got '{t.text}'. "
                f"(line 1, character {t.pos})"
            )
        name = t.text
        op_tok = self.peek()
        if op_tok is None:
            raise JqlError(
                f"Error in the JQL Query: Expecting operator before the end of the query. "
                f"{_VALID_OPS}"
            )
        if op_tok.kind == "op":
            self.next()
            op = op_tok.text
        elif self.kw("IN"):
            self.next()
            op = "IN"
        elif self.kw("NOT"):
            self.next()
            if not self.kw("IN"):
                raise JqlError(f"Error in the JQL Query: Expecting 'IN' after 'NOT'. {_VALID_OPS}")
            self.next()
            op = "NOT IN"
        elif self.kw("IS"):
            self.next()
            op = "IS"
            if self.kw("NOT"):
                self.next()
                op = "IS NOT"
        else:
            raise JqlError(
                f"Error in the JQL Query: Expecting operator but got '{op_tok.text}'. "
                f"{_VALID_OPS} (line 1, character {op_tok.pos})"
            )
        if op in ("IN", "NOT IN"):
            lp = self.next()
            if lp.kind != "(":
                raise JqlError(
                    f"Error in the JQL Query: Expecting '(' but got '{lp.text}'. "
                    f"(line 1, character {lp.pos})"
                )
            values: list[str] = []
            while True:
                v = self.next()
                if v.kind != "word":
                    raise JqlError(
                        f"Error in the JQL Query: Expecting a value but got '{v.text}'. "
                        f"(line 1, character {v.pos})"
                    )
                values.append(v.text)
                sep = self.next()
                if sep.kind == ")":
                    break
                if sep.kind != ",":
                    raise JqlError(
                        f"Error in the JQL Query: Expecting ',' or ')' but got '{sep.text}'. "
                        f"(line 1, character {sep.pos})"
                    )
            return Clause(name, op, values)
        value = self.peek()
        if value is None or value.kind != "word":
            got = value.text if value is not None else "end of query"
            pos = value.pos if value is not None else len(name) + 2
            raise JqlError(
                f"Error in the JQL Query: Expecting either a value, list or function but got "
                f"'{got}'. (line 1, character {pos})"
            )
        self.next()
        return Clause(name, op, [value.text])


def restricts(node: Node | None) -> bool:
    """Whether a query restricts its result, as Cloud's enhanced search demands (it refuses
    "unbounded" queries): some clause compares a field with a value. ``X IS [NOT] EMPTY`` alone
    does not (``created IS NOT EMPTY`` matches every issue); ORs need every branch restricted.
    """
    if node is None:
        return False
    if isinstance(node, Clause):
        return node.op not in ("IS", "IS NOT")
    if isinstance(node, NotNode):
        return restricts(node.child)
    if node.op == "AND":
        return any(restricts(child) for child in node.children)
    return all(restricts(child) for child in node.children)


def parse(jql: str) -> Query:
    """Parse JQL or raise :class:`JqlError` with Jira's message."""
    return _Parser(jql or "").parse()


# --- execution --------------------------------------------------------------------------------


class _Reversed(Sequence[int]):
    def __init__(self, seq: Sequence[int]) -> None:
        self.seq = seq

    def __len__(self) -> int:
        return len(self.seq)

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> list[int]: ...

    def __getitem__(self, i: int | slice) -> int | list[int]:
        n = len(self.seq)
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(n))]
        if i < 0:
            i += n
        return self.seq[n - 1 - i]


class ResultSeq:
    """Matching issues as (project, number) segments, paged without materialising them."""

    def __init__(self, parts: list[tuple[Project, Sequence[int]]]) -> None:
        self.parts = [(p, s) for p, s in parts if len(s)]

    def __len__(self) -> int:
        return sum(len(s) for _, s in self.parts)

    def page(self, start: int, count: int) -> list[tuple[Project, int]]:
        """Issues ``start .. start+count`` (clamped)."""
        out: list[tuple[Project, int]] = []
        for p, s in self.parts:
            n = len(s)
            if start >= n:
                start -= n
                continue
            take = min(n - start, count - len(out))
            out.extend((p, s[start + j]) for j in range(take))
            start = 0
            if len(out) >= count:
                break
        return out


def _value_matches_project(world: World, value: str, visible: Mapping[str, Project]) -> Project:
    p = world.project(value)
    if p is None:
        p = next((q for q in world.projects.values() if q.name.lower() == value.lower()), None)
    if p is None or p.key not in visible:
        raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
    return p


def _parse_date(value: str) -> datetime:
    v = value.strip()
    m = re.fullmatch(r"([-+]?)(\d+)([wdhm])", v)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[m.group(3)]
        return now() + sign * timedelta(**{unit: int(m.group(2))})
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(v, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field 'created' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )


class VisibleProjects(Mapping[str, Project]):
    """The projects the user may browse, by key, each asked about only when a query needs it:
    a search names one project, and checking every project of a large world for each search
    (203 permission checks) showed up in the emulator's profile."""

    def __init__(self, world: World, user: User | None) -> None:
        self.world = world
        self.user = user
        self._every: dict[str, Project] | None = None

    def __getitem__(self, key: str) -> Project:
        project = self.world.projects.get(key)
        if project is None or not self.world.has(self.user, "BROWSE_PROJECTS", project):
            raise KeyError(key)
        return project

    def __iter__(self) -> Iterator[str]:
        return iter(self.every())

    def __len__(self) -> int:
        return len(self.every())

    def every(self) -> dict[str, Project]:
        if self._every is None:
            self._every = {p.key: p for p in self.world.visible_projects(self.user)}
        return self._every


class Executor:
    """Runs a parsed query for one user over one world."""

    def __init__(self, world: World, user: User | None) -> None:
        self.world = world
        self.user = user
        self.visible = VisibleProjects(world, user)

    # validation: Jira rejects unknown fields and values before searching
    def validate(self, node: Node | None) -> None:
        if node is None:
            return
        if isinstance(node, BoolNode):
            for c in node.children:
                self.validate(c)
            return
        if isinstance(node, NotNode):
            self.validate(node.child)
            return
        f = node.field.lower()
        if f not in FIELDS:
            raise JqlError(
                f"Field '{node.field}' does not exist or you do not have permission to view it."
            )
        if node.op in ("IS", "IS NOT"):
            if node.values[0].upper() not in ("EMPTY", "NULL"):
                raise JqlError(f"The operator '{node.op.lower()}' only supports EMPTY or NULL.")
            return
        if f in ("summary", "description", "text"):
            if node.op not in ("~", "!~", "IS", "IS NOT"):
                raise JqlError(
                    f"The operator '{node.op}' is not supported by the '{node.field}' field."
                )
            return
        if node.op in ("~", "!~"):
            raise JqlError(
                f"The operator '{node.op}' is not supported by the '{node.field}' field."
            )
        if f == "project":
            for v in node.values:
                _value_matches_project(self.world, v, self.visible)
        elif f in ("key", "issuekey", "id"):
            for v in node.values:
                if f != "id" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*-\d+|\d+", v):
                    raise JqlError(f"The issue key '{v}' for field '{node.field}' is invalid.")
                ref = self.world.parse_key(v)
                if ref is None or ref[0].key not in self.visible:
                    if f == "id":
                        raise JqlError(f"An issue with key '{v}' does not exist for field 'id'.")
                    raise JqlError(
                        f"An issue with key '{v}' does not exist for field '{node.field}'."
                    )
        elif f in ("issuetype", "type"):
            for v in node.values:
                if not self._issuetype_ids(v):
                    raise JqlError(f"The value '{v}' does not exist for the field '{node.field}'.")
        elif f == "status":
            for v in node.values:
                if not self._status_ids(v):
                    raise JqlError(f"The value '{v}' does not exist for the field '{node.field}'.")
        elif f == "priority":
            for v in node.values:
                if not self._priority_ids(v):
                    raise JqlError(f"The value '{v}' does not exist for the field '{node.field}'.")
        elif f in ("created", "createddate", "updated", "updateddate"):
            for v in node.values:
                _parse_date(v)

    @staticmethod
    def _issuetype_ids(v: str) -> set[str]:
        return {i for i, t in ISSUE_TYPES_BY_ID.items() if v == i or t.name.lower() == v.lower()}

    @staticmethod
    def _status_ids(v: str) -> set[str]:
        return {i for i, (name, _) in STATUSES.items() if v == i or name.lower() == v.lower()}

    @staticmethod
    def _priority_ids(v: str) -> set[str]:
        return {i for i, name in PRIORITIES.items() if v == i or name.lower() == v.lower()}

    def _user_value(self, v: str) -> str | None:
        if v.lower() == "currentuser()":
            return self.user.name if self.user else None
        return v

    # predicate compilation
    def predicate(self, node: Node) -> Callable[[Project, int, dict[str, Any]], bool]:
        if isinstance(node, BoolNode):
            preds = [self.predicate(c) for c in node.children]
            if node.op == "AND":
                return lambda p, n, f: all(pr(p, n, f) for pr in preds)
            return lambda p, n, f: any(pr(p, n, f) for pr in preds)
        if isinstance(node, NotNode):
            inner = self.predicate(node.child)
            return lambda p, n, f: not inner(p, n, f)
        return self._clause(node)

    def _clause(self, c: Clause) -> Callable[[Project, int, dict[str, Any]], bool]:
        f = c.field.lower()
        negate = c.op in ("!=", "NOT IN", "!~", "IS NOT")
        if c.op in ("IS", "IS NOT"):
            key = {"type": "issuetype", "text": "summary"}.get(f, f)

            def empty(p: Project, n: int, fields: dict[str, Any]) -> bool:
                val = fields.get(key)
                return (val in (None, "", [])) != negate

            return empty
        if f == "project":
            keys = {_value_matches_project(self.world, v, self.visible).key for v in c.values}
            return lambda p, n, fields: (p.key in keys) != negate
        if f in ("key", "issuekey", "id"):
            refs = set()
            for v in c.values:
                ref = self.world.parse_key(v)
                if ref:
                    refs.add((ref[0].key, ref[1]))
            return lambda p, n, fields: ((p.key, n) in refs) != negate
        if f == "labels":
            wanted = set(c.values)
            return lambda p, n, fields: bool(wanted & set(fields.get("labels") or [])) != negate
        if f in ("issuetype", "type", "status", "priority"):
            lookup = {
                "issuetype": self._issuetype_ids,
                "type": self._issuetype_ids,
                "status": self._status_ids,
                "priority": self._priority_ids,
            }[f]
            ids: set[str] = set()
            for v in c.values:
                ids |= lookup(v)
            key = "issuetype" if f == "type" else f
            return lambda p, n, fields: (fields.get(key) in ids) != negate
        if f in ("summary", "description", "text"):
            words = c.values[0].lower().replace("*", "").split()
            searched: tuple[str, ...] = ("summary", "description") if f == "text" else (f,)

            def text(p: Project, n: int, fields: dict[str, Any]) -> bool:
                hay = " ".join(str(fields.get(k) or "") for k in searched).lower()
                return all(w in hay for w in words) != negate

            return text
        if f in ("reporter", "assignee"):
            names = {self._user_value(v) for v in c.values}
            return lambda p, n, fields: (fields.get(f) in names) != negate
        # dates
        key = "created" if f.startswith("created") else "updated"
        when = _parse_date(c.values[0])
        cmp: dict[str, Callable[[datetime], bool]] = {
            "=": lambda d: d == when,
            "!=": lambda d: d != when,
            "<": lambda d: d < when,
            "<=": lambda d: d <= when,
            ">": lambda d: d > when,
            ">=": lambda d: d >= when,
        }

        def never(d: datetime) -> bool:
            return False

        test = cmp.get(c.op, never)
        return lambda p, n, fields: test(fields[key])

    def _restricting_projects(self, node: Node | None) -> tuple[set[str] | None, Node | None]:
        """Split top-level ``project =/IN`` conjuncts off the tree (they select segments)."""
        if node is None:
            return None, None
        conj = node.children if isinstance(node, BoolNode) and node.op == "AND" else [node]
        keys: set[str] | None = None
        rest: list[Node] = []
        for c in conj:
            if isinstance(c, Clause) and c.field.lower() == "project" and c.op in ("=", "IN"):
                ks = {_value_matches_project(self.world, v, self.visible).key for v in c.values}
                keys = ks if keys is None else keys & ks
            else:
                rest.append(c)
        if not rest:
            return keys, None
        return keys, rest[0] if len(rest) == 1 else BoolNode("AND", rest)

    def run(self, query: Query) -> ResultSeq:
        """Validate and execute; the result is ordered as ORDER BY says (default key DESC)."""
        self.validate(query.where)
        for fname, _ in query.order:
            if fname not in _SORTABLE and fname not in ("rank",):
                if fname in FIELDS:
                    raise JqlError(f"Field '{fname}' does not support sorting.")
                raise JqlError(f"Not able to sort using field '{fname}'.")
        keys, rest = self._restricting_projects(query.where)
        chosen = self.visible.every().values() if keys is None else [self.visible[k] for k in keys]
        projects = sorted(chosen, key=lambda p: p.key)
        pred = self.predicate(rest) if rest is not None else None
        order = query.order or [("key", "DESC")]
        natural = order[0][0] in ("key", "issuekey", "id", "created", "createddate", "rank")
        desc = order[0][1] == "DESC"
        if natural:
            parts: list[tuple[Project, Sequence[int]]] = []
            for p in projects:
                seq: Sequence[int] = p.numbers()
                if pred is not None:
                    world = self.world
                    seq = [n for n in seq if pred(p, n, world.issue(p, n).fields)]
                parts.append((p, seq))
            if desc:
                parts = [(p, _Reversed(s)) for p, s in reversed(parts)]
            return ResultSeq(parts)
        # any other order: materialise the (usually small) matching set and sort it
        rows: list[tuple[Project, int, dict[str, Any]]] = []
        for p in projects:
            for n in p.numbers():
                fields = self.world.issue(p, n).fields
                if pred is None or pred(p, n, fields):
                    rows.append((p, n, fields))
        for fname, direction in reversed(order):
            key = {
                "type": "issuetype",
                "issuekey": "key",
                "createddate": "created",
                "updateddate": "updated",
            }.get(fname, fname)

            def sort_key(r: tuple[Project, int, dict[str, Any]], key: str = key) -> Any:
                if key in ("key", "id", "rank"):
                    return (r[0].key, r[1])
                if key == "project":
                    return r[0].key
                v = r[2].get(key)
                return (v is not None, str(v) if not isinstance(v, datetime) else v.isoformat())

            rows.sort(key=sort_key, reverse=direction == "DESC")
        return ResultSeq([(r[0], [r[1]]) for r in rows])
