"""Integration profiles: what Visor needs from a Jira, as YAML validated by a JSON Schema.

An invalid profile is a usage error that names the file, the line and the offending key in one
sentence, because the person who wrote it is the one reading the error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from conformance.settings import SettingsError

Access = Literal["read", "write"]
BUNDLED = ("visor-default", "visor-two-way")


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


def _schema() -> dict[str, Any]:
    text = resources.files("conformance.schemas").joinpath("profile.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping key, so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {}
    for key_node, _ in node.value:
        lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines  # type: ignore[index]
    mapping["__line__"] = node.start_mark.line + 1  # type: ignore[index]
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in ("__lines__", "__line__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _line_of(document: Any, path: list[Any]) -> int | None:
    node = document
    line = node.get("__line__") if isinstance(node, dict) else None
    for part in path:
        if isinstance(node, dict) and part in node:
            line = node.get("__lines__", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict):
                line = node.get("__line__", line)
        else:
            break
    return line


def resolve_profile_path(name_or_path: str | None) -> tuple[str, str]:
    """(label, YAML text) for a bundled profile name or a file path."""
    name = name_or_path or "visor-default"
    if name in BUNDLED:
        text = resources.files("conformance.profiles").joinpath(f"{name}.yaml").read_text("utf-8")
        return f"bundled profile {name}", text
    path = Path(name).expanduser()
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"--jira-profile {str(path)!r} cannot be read ({exc.strerror or exc}); give a readable YAML "
            f"file or one of the bundled profiles: {', '.join(BUNDLED)}"
        ) from None


def load_profile(name_or_path: str | None) -> Profile:
    label, text = resolve_profile_path(name_or_path)
    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SettingsError(f"profile {label}{where}: not valid YAML ({problem})") from None
    if not isinstance(document, dict):
        raise SettingsError(
            f"profile {label} line 1: the profile must be a YAML mapping (key: value lines)"
        )
    data = _strip_lines(document)
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        path = list(error.absolute_path)
        key = ".".join(str(p) for p in path) or "(top level)"
        message = error.message
        if error.validator == "additionalProperties":
            extra = sorted(
                set((error.instance or {}).keys()) - set(error.schema.get("properties", {}))
            )
            if extra:
                key = ".".join([*map(str, path), extra[0]])
                path = [*path, extra[0]]
                message = f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
        line = _line_of(document, path)
        where = f" line {line}" if line else ""
        raise SettingsError(f"profile {label}{where}, key {key}: {message}")
    return _build(data, label)


def _build(data: dict[str, Any], label: str) -> Profile:
    projects_raw = data["projects"]
    default_access: Access = data.get("default_access", "read")
    projects = None
    if projects_raw != "all-visible":
        projects = tuple(
            ProjectSpec(
                key=item["key"],
                access=item.get("access", default_access),
                issue_types=tuple(item.get("issue_types", ())),
            )
            for item in projects_raw
        )
    fields = data.get("fields", {})
    versions = data.get("versions", {})
    imp = data.get("import", {})
    return Profile(
        name=data["name"],
        source=label,
        description=data.get("description", ""),
        projects=projects,
        default_access=default_access,
        issue_types=tuple(data.get("issue_types", ("Task",))),
        read_fields=tuple(fields.get("read", Profile.read_fields)),
        write_fields=tuple(fields.get("write", ())),
        server_versions=versions.get("server", ">=7.13"),
        cloud_supported=versions.get("cloud", True),
        import_settings=ImportSettings(**imp),
    )
