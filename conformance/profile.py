"""Integration profiles: what Visor needs from a Jira, as YAML validated by a JSON Schema.

A profile says which projects Visor uses (or every project the bot can see), whether it only
reads them or also writes, which fields it reads and writes, which Jira versions it supports and
how it imports. An invalid profile is a usage error that names the file, the line and the
offending key in one sentence, because the person who wrote it is the one reading the error.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import jsonschema
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.handoff import RECIPIENT_HINT, recipient_problem
from conformance.settings import (
    SettingsError,
    decode_text,
    long_number,
    long_number_words,
    read_regular_file,
    user_path,
)

Access = Literal["read", "write"]
BUNDLED = ("visor-default", "visor-two-way")
_LINES = "__lines__"  # key -> line of that key, kept on every mapping while validating
_LINE = "__line__"  # line where the mapping starts


@dataclass(frozen=True)
class ProjectSpec:
    key: str
    access: Access = "read"
    issue_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportSettings:
    jql: str = "project = {project} ORDER BY key ASC"
    page_size: int = 100
    sample_size: int = 500
    changelog: bool = False
    max_full_import_minutes: float = 60.0


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    description: str = ""
    projects: tuple[ProjectSpec, ...] | None = None  # None: every project the bot can see
    default_access: Access = "read"
    issue_types: tuple[str, ...] = ("Task",)
    read_fields: tuple[str, ...] = ("summary", "status", "issuetype", "updated")
    write_fields: tuple[str, ...] = ()
    server_versions: str = ">=7.13"
    cloud_supported: bool = True
    import_settings: ImportSettings = field(default_factory=ImportSettings)
    sha256: str = ""  # of the YAML text: a hand-over names the profile its run used by it
    handoff_recipients: tuple[str, ...] = ()  # handoff.recipients: whom every run seals for

    def access_for(self, key: str) -> Access:
        for spec in self.projects or ():
            if spec.key == key:
                return spec.access
        return self.default_access

    def issue_types_for(self, key: str) -> tuple[str, ...]:
        for spec in self.projects or ():
            if spec.key == key and spec.issue_types:
                return spec.issue_types
        return self.issue_types


# -- reading -------------------------------------------------------------------------------------


class ProfileError(SettingsError):
    """An invalid profile: a usage error whose message names the file, the line and the key."""

    def __init__(self, label: str, line: int | None, key: str | None, problem: str) -> None:
        where = f"line {line}" if line else "an unknown line"
        what = f", key {key!r}" if key else ""
        super().__init__(f"The profile {label} is invalid at {where}{what}: {problem}.")
        self.label, self.line, self.key, self.problem = label, line, key, problem


MAX_PROFILE_BYTES = 256 * 1024
MAX_DEPTH = 32  # nesting levels; a real profile uses four
MAX_ALIASES = 100  # alias references (*name); a real profile uses none or a few
MAX_NODES = 20_000  # nodes once every alias is expanded: what validation will walk


class _TooComplex(Exception):
    """The YAML would take unbounded memory or recursion to read (an alias bomb, deep nesting)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


class _BadKey(Exception):
    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line, self.what = line, what


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping key, so errors can point at it, and refuses duplicates.

    It also bounds the work: nesting depth and alias references are counted while composing, and
    the size of the document with every alias expanded is checked before anything is built, so a
    "billion laughs" profile is refused in one sentence instead of growing memory without bound.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _TooComplex(
                    line,
                    f"it uses more than {MAX_ALIASES} aliases (*name), more than a profile needs",
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooComplex(line, f"it is nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node | None) -> None:
    """Refuse a document whose alias-expanded size exceeds MAX_NODES, or an alias that refers to
    the list or mapping containing it (memoised, so this is linear in the file)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        line = node.start_mark.line + 1
        if id(node) in open_nodes:
            raise _TooComplex(line, "an alias refers to the list or mapping that contains it")
        open_nodes.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise _TooComplex(
                    line,
                    f"its aliases expand to more than {MAX_NODES} values, more than a profile "
                    "needs (an alias bomb?)",
                )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    if root is not None:
        size(root)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    own_count = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # merge keys (<<: *base) come first, then the mapping's own keys
    merged = len(node.value) - own_count
    mapping: dict[Any, Any] = {}
    lines: dict[Any, int] = {}
    own_lines: dict[Any, int] = {}
    for position, (key_node, value_node) in enumerate(node.value):
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise _BadKey(
                line, "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
            )
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise _BadKey(line, "null" if key is None else _describe_value(key))
        if position < merged:  # from a merge: the mapping's own key, or an earlier merge, wins
            if key not in lines:
                lines[key] = line
                mapping[key] = loader.construct_object(value_node, deep=True)
            continue
        if key in own_lines:
            raise _DuplicateKey(key, line, own_lines[key])
        own_lines[key] = lines[key] = line
        mapping[key] = loader.construct_object(value_node, deep=True)
    mapping[_LINES] = lines
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


def _schema() -> dict[str, Any]:
    text = resources.files("conformance.schemas").joinpath("profile.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def resolve_profile_path(name_or_path: str | None) -> tuple[str, str]:
    """(label, YAML text) for a bundled profile name or a file path."""
    name = name_or_path or "visor-default"
    if name in BUNDLED:
        text = resources.files("conformance.profiles").joinpath(f"{name}.yaml").read_text("utf-8")
        return f"bundled profile {name}", text
    path = user_path(name, "--jira-profile")
    hint = f"give a readable YAML file or one of the bundled profiles: {', '.join(BUNDLED)}"
    try:
        data = read_regular_file(path, "--jira-profile", MAX_PROFILE_BYTES, what="profile")
    except SettingsError as exc:
        raise SettingsError(f"{exc}; {hint}") from None
    return str(path), decode_text(data, f"--jira-profile {str(path)!r}")


def load_profile(name_or_path: str | None) -> Profile:
    """Read, validate and build a profile; any problem is a ``ProfileError`` (exit 4)."""
    label, text = resolve_profile_path(name_or_path)
    document = _parse(label, text)
    data = _strip_lines(document)
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        key_path, problem = describe_schema_error(error)
        raise ProfileError(label, _line_of(document, key_path), _key_name(key_path), problem)
    profile = _build(document, data, label)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return dataclasses.replace(profile, sha256=digest)


def _parse(label: str, text: str) -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except _DuplicateKey as dup:
        raise ProfileError(
            label, dup.line, dup.key, f"the key appears twice (first at line {dup.first_line})"
        ) from None
    except _TooComplex as bomb:
        raise ProfileError(
            label,
            bomb.line,
            _key_near(text, bomb.line),
            f"the profile is refused because {bomb.problem}",
        ) from None
    except _BadKey as bad:
        raise ProfileError(
            label,
            bad.line,
            None,
            f"a key must be a name (text), not {bad.what}; write keys as 'name: value' and quote "
            "a key that looks like a number, such as '1': value",
        ) from None
    except RecursionError:
        raise ProfileError(label, None, None, "it is nested too deeply to be a profile") from None
    except ValueError:  # an integer of more digits than Python converts
        found = long_number(text)
        line = found[0] if found else None
        words = long_number_words(found[1]) if found else "a number too long to read"
        raise ProfileError(label, line, _key_near(text, line), f"it holds {words}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = min(mark.line + 1, max(1, len(text.splitlines()))) if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(
            label, line, _key_near(text, line), f"this is not valid YAML ({problem})"
        ) from None
    if document is None:
        raise ProfileError(
            label, 1, None, "the file is empty; a profile needs at least 'name' and 'projects'"
        )
    if not isinstance(document, dict):
        raise ProfileError(
            label,
            1,
            None,
            f"a profile is a mapping of 'key: value' lines, not {_describe_value(document)}",
        )
    return document


def _key_near(text: str, line: int | None) -> str | None:
    """The mapping key on or above a YAML error's line: what the author was writing."""
    if line is None:
        return None
    lines = text.splitlines()
    for number in range(min(line, len(lines)), 0, -1):
        match = re.match(r"\s*(?:-\s+)?([A-Za-z_][\w-]*)\s*:", lines[number - 1])
        if match:
            return match.group(1)
    return None


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in (_LINES, _LINE)}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _line_of(document: Any, path: list[Any]) -> int | None:
    """The line of the deepest key (or list item) of ``path`` found in the parsed document."""
    node = document
    line = node.get(_LINE) if isinstance(node, dict) else None
    for part in path:
        if isinstance(node, dict) and part in node:
            line = node.get(_LINES, {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict):
                line = node.get(_LINE, line)
        else:
            break
    return line


def _key_name(path: list[Any]) -> str | None:
    """``projects[1].access`` from ``["projects", 1, "access"]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


# -- schema errors in plain words ----------------------------------------------------------------

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of 'key: value' lines",
    "null": "empty",
}


def _describe_value(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()} (quote it to make it text)"
    return f"a value of type {type(value).__name__}"


def describe_schema_error(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """(path of the offending key, what is wrong with it) for one JSON Schema error."""
    path = list(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed)) if isinstance(value, dict) else []
        if unknown:
            guess = difflib.get_close_matches(unknown[0], allowed, n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            return [*path, unknown[0]], (
                f"unknown key {unknown[0]!r} ({hint}allowed here: {', '.join(allowed)})"
            )
    if kind == "required":
        missing = next((k for k in schema.get("required", []) if k not in (value or {})), None)
        if missing is not None:
            return [*path, missing], "this required key is missing"
    if kind == "type" and path == ["projects"]:
        return path, f"must be 'all-visible' or a list of projects, not {_describe_value(value)}"
    if kind == "type":
        expected = schema.get("type")
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)
        return path, f"must be {wanted}, not {_describe_value(value)}"
    if kind == "enum":
        choices = " or ".join(repr(c) for c in schema.get("enum", []))
        return path, f"must be {choices}, not {_describe_value(value)}"
    if kind == "const" and path == ["projects"]:
        return path, f"must be 'all-visible' or a list of projects, not {_describe_value(value)}"
    if kind == "minItems":
        if path == ["projects"]:
            return path, (
                "the project list is empty; list at least one project (- key: ABC) "
                "or write 'projects: all-visible'"
            )
        return path, "the list is empty; give at least one item or remove the key"
    if kind == "minLength":
        return path, "must not be empty"
    if kind == "pattern" and path and path[-1] == "key":
        return path, (
            f"{value!r} is not a Jira project key (capital letters, digits and _, "
            "starting with a letter, as in VIS or OPS2)"
        )
    if kind == "pattern" and path[:2] == ["handoff", "recipients"]:
        return path, f"{str(value)[:80]!r} is not an age recipient; {RECIPIENT_HINT}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }
        return path, f"must be {words[kind]} {error.validator_value}, not {value}"
    return path, error.message


# -- building ------------------------------------------------------------------------------------


def _build(document: dict[str, Any], data: dict[str, Any], label: str) -> Profile:
    default_access: Access = data.get("default_access", "read")
    projects = None
    if data["projects"] != "all-visible":
        specs: list[ProjectSpec] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(data["projects"]):
            if item["key"] in seen:
                raise ProfileError(
                    label,
                    _line_of(document, ["projects", index, "key"]),
                    f"projects[{index}].key",
                    f"project {item['key']} is listed twice (first as projects[{seen[item['key']]}])",
                )
            seen[item["key"]] = index
            specs.append(
                ProjectSpec(
                    key=item["key"],
                    access=item.get("access", default_access),
                    issue_types=tuple(item.get("issue_types", ())),
                )
            )
        projects = tuple(specs)
    fields = data.get("fields", {})
    versions = data.get("versions", {})
    server_versions = versions.get("server", ">=7.13")
    try:
        SpecifierSet(server_versions)
    except InvalidSpecifier:
        raise ProfileError(
            label,
            _line_of(document, ["versions", "server"]),
            "versions.server",
            f"{server_versions!r} is not a version range; write it like '>=8.5' or '>=8.5,<12'",
        ) from None
    recipients = data.get("handoff", {}).get("recipients", [])
    for index, recipient in enumerate(recipients):
        problem = recipient_problem(recipient)
        if problem is not None:
            where = ["handoff", "recipients", index]
            raise ProfileError(
                label, _line_of(document, where), _key_name(where), f"{problem}; {RECIPIENT_HINT}"
            )
    return Profile(
        name=data["name"],
        source=label,
        description=data.get("description", ""),
        projects=projects,
        default_access=default_access,
        issue_types=tuple(data.get("issue_types", ("Task",))),
        read_fields=tuple(fields.get("read", Profile.read_fields)),
        write_fields=tuple(fields.get("write", ())),
        server_versions=server_versions,
        cloud_supported=versions.get("cloud", True),
        import_settings=ImportSettings(**data.get("import", {})),
        handoff_recipients=tuple(dict.fromkeys(recipients)),
    )
