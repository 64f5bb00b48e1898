"""The plan: which checks run, for which projects, in which order, and which of them are required.

Pure: it reads the check modules' declarations and the list of projects, and sends nothing. The
order is the checklist's layer order (network, API, account, version, projects, import, write),
with every check after the checks it names in ``after``, so that "blocked" can apply.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from conformance.check import AREAS, Requirement, requirement_of, row_label

CHECKS_PACKAGE = "conformance.checks"
# The id pytest shows for a per-project check when the projects are not known yet (--collect-only
# with the profile's "every visible project").
EACH_PROJECT = "each-visible-project"


@dataclass(frozen=True)
class CheckSpec:
    """One declared check: its requirement, the function that judges it, and its scope."""

    requirement: Requirement
    function: Callable[..., None]
    per_project: bool

    @property
    def id(self) -> str:
        return self.requirement.id


@dataclass(frozen=True)
class PlannedCheck:
    """One row the run owes: a check, for one project or for the whole instance."""

    spec: CheckSpec
    project: str | None
    required: bool = True

    @property
    def label(self) -> str:
        return row_label(self.spec.id, self.project)


@cache
def discover_checks(package: str = CHECKS_PACKAGE) -> tuple[CheckSpec, ...]:
    """Every check declared in the package's ``test_*`` modules, in plan order."""
    root = importlib.import_module(package)
    specs: list[CheckSpec] = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for _name, fn in inspect.getmembers(module, inspect.isfunction):
            req = requirement_of(fn)
            if req is not None and fn.__module__ == module.__name__:
                per_project = "project" in inspect.signature(fn).parameters
                specs.append(CheckSpec(req, fn, per_project))
    return tuple(order(specs))


def order(specs: Sequence[CheckSpec]) -> list[CheckSpec]:
    """Layer order, each check after the checks it names in ``after`` (even of a later area)."""

    def rank(spec: CheckSpec) -> tuple[int, int]:
        area = spec.requirement.area
        line = spec.function.__code__.co_firstlineno
        return (AREAS.index(area) if area in AREAS else len(AREAS), line)

    by_id = {spec.id: spec for spec in specs}
    placed: dict[str, CheckSpec] = {}

    def place(spec: CheckSpec, trail: frozenset[str]) -> None:
        if spec.id in placed or spec.id in trail:
            return
        for dep in spec.requirement.after:
            if dep in by_id:
                place(by_id[dep], trail | {spec.id})
        placed[spec.id] = spec

    for spec in sorted(specs, key=rank):
        place(spec, frozenset())
    return list(placed.values())


def make_plan(
    specs: Sequence[CheckSpec], projects: Sequence[str], *, write_project: str | None
) -> list[PlannedCheck]:
    """One row per instance-wide check and per project-wide check and project.

    Consecutive per-project checks run project by project: every row of the first project, then
    every row of the next. So a project's rows need only that project's evidence, which the
    scheduler fetches in the same order, and judging keeps pace with the network instead of
    waiting for the whole survey before the first import row. Without projects, a per-project
    check still has one row (``project`` None) that says so. The write round trip's row belongs
    to the write project, and is required only when the write round trip was asked for.
    """
    plan: list[PlannedCheck] = []
    keys: list[str | None] = [*projects] or [None]
    block: list[CheckSpec] = []

    def flush() -> None:
        plan.extend(PlannedCheck(spec, key) for key in keys for spec in block)
        block.clear()

    for spec in specs:
        if spec.per_project:
            block.append(spec)
            continue
        flush()
        if spec.requirement.area == "write":
            plan.append(PlannedCheck(spec, write_project, required=write_project is not None))
        else:
            plan.append(PlannedCheck(spec, None))
    flush()
    return plan
