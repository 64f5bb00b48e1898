"""Node ids passed back: ``pytest --jira-url URL 'test_import.py::test_search[OPS]'`` from any
directory selects that row.

The packaged checks live inside the installed package, so the node ids the suite prints
(``test_import.py::test_search[OPS]`` in the terminal, JUnit's ``test_import`` /
``test_search[OPS]``, the HTML page's "run again" line, or ``conformance/checks/test_import.py::...``
from a run inside the repository) name no file where the user stands. Such an argument is taken
here as a *selection* of the packaged checks, checked against the declared checks before anything
is sent (a typo is a usage error, exit 4), and applied to the collected rows; pytest collects the
packaged checks' folder itself. Paths that exist and lie outside the checks stay pytest's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.engine.plan import CheckSpec

# module, then optionally "::function", then optionally "[project]"
_NODE_ID = re.compile(r"(?P<module>[^:\[\]]+?)(?:::(?P<function>[^:\[\]]+)(?:\[(?P<param>.*)\])?)?")


@dataclass(frozen=True)
class Selection:
    """One argument that names packaged checks: a module, a check in it, or one of its rows."""

    text: str  # as typed
    module: str  # "test_import.py"
    function: str | None = None  # "test_search"
    project: str | None = None  # "OPS" (None: every row of the check)

    def selects(self, module: str, function: str, param: str | None) -> bool:
        """Does this selection take the row ``module::function[param]``?"""
        if module != self.module:
            return False
        if self.function is None:
            return True
        return function == self.function and (self.project is None or param == self.project)


class SelectionError(ValueError):
    """An argument that is neither a path nor a node id of the packaged checks."""


def split_arguments(
    args: Sequence[str], invocation_dir: Path, checks_dir: Path, specs: Iterable[CheckSpec]
) -> tuple[list[str], list[Selection]]:
    """The arguments pytest keeps (paths that exist, outside the packaged checks) and the
    selections of packaged checks; raises :class:`SelectionError` for an argument that names
    neither. No argument selecting packaged checks: no selections (every row)."""
    modules = _modules(specs)
    kept: list[str] = []
    selections: list[Selection] = []
    for arg in args:
        where = invocation_dir / arg.split("::", 1)[0]
        exists = _exists(where)
        if exists and not _inside(where, checks_dir):
            kept.append(arg)
            continue
        if exists and where.resolve() == checks_dir.resolve():
            selections.append(Selection(arg, "*"))  # the folder itself: every check
            continue
        selections.append(parse(arg, modules))
    if any(s.module == "*" for s in selections):
        selections = []  # the whole folder was named: nothing narrows it
    return kept, selections


def parse(arg: str, modules: dict[str, dict[str, bool]]) -> Selection:
    """``test_import.py::test_search[OPS]`` (or JUnit's ``test_import::test_search[OPS]``, or a
    path ending in the module) as a selection, checked against the declared checks."""
    match = _NODE_ID.fullmatch(arg.strip())
    name = Path(match["module"]).name if match else ""
    if name and not name.endswith(".py"):
        name = name.replace(".", "/").rsplit("/", 1)[-1] + ".py"  # JUnit's classname
    example = "test_import.py::test_search[OPS]"
    if match is None or name not in modules:
        raise SelectionError(
            f"{arg!r} is neither a file nor a check of this suite: its checks are "
            f"{', '.join(sorted(modules))}, and a row is named like {example} "
            "(--collect-only lists them)"
        )
    function, param = match["function"], match["param"]
    checks = modules[name]
    if function is not None and function not in checks:
        raise SelectionError(
            f"{arg!r}: {name} has no check {function!r}; its checks are {', '.join(sorted(checks))}"
        )
    if function is not None and param is not None and not checks[function]:
        raise SelectionError(
            f"{arg!r}: {function} checks the whole instance, not one project: "
            f"give {name}::{function} without [{param}]"
        )
    return Selection(arg, name, function, param or None)


def project_keys(selections: Sequence[Selection], specs: Iterable[CheckSpec]) -> list[str] | None:
    """The projects the selections name, when every selection of a per-project check names
    one (``test_import.py::test_search[OPS]``): the run then checks only those. None when a
    selection takes every project of some check (or nothing is selected)."""
    modules = _modules(specs)
    keys: dict[str, None] = {}
    for selection in selections:
        checks = modules.get(selection.module, {})
        per_project = (
            [checks[selection.function]] if selection.function in checks else checks.values()
        )
        if not any(per_project):
            continue  # instance-wide checks only: no project needed
        if selection.project is None:
            return None
        keys.setdefault(selection.project, None)
    return list(keys) or None


def _modules(specs: Iterable[CheckSpec]) -> dict[str, dict[str, bool]]:
    """Module file name -> {check function name: per project}."""
    modules: dict[str, dict[str, bool]] = {}
    for spec in specs:
        module = spec.function.__module__.rsplit(".", 1)[-1] + ".py"
        modules.setdefault(module, {})[spec.function.__name__] = spec.per_project
    return modules


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
