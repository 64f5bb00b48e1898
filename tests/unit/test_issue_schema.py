"""The fast issue validator never passes an issue the explaining one would fault.

The test import checks each sampled issue with ``jsonschema-rs`` and asks ``jsonschema`` for the
errors only when the fast one rejects it (both read the schema as draft 2020-12). So the evidence
is what ``jsonschema`` alone would give as long as the fast validator never accepts an issue that
``jsonschema`` faults, whatever shape an issue arrives in. (The other way round is harmless: the
explainer finds no error and none is counted. It happens for a pattern's ``$`` before a final
line break, which ``jsonschema-rs`` reads as ECMA-262 does and ``jsonschema`` as Python does.)
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.probes.search import _issue_validator, issue_conforms

USER = {"name": "jdoe", "displayName": "J. Doe"}
ISSUE: dict[str, Any] = {
    "id": "10001",
    "key": "OPS-1",
    "self": "https://jira.example.com/rest/api/2/issue/10001",
    "fields": {
        "summary": "Printer on fire",
        "description": None,
        "status": {"id": "1", "name": "Open"},
        "issuetype": {"id": "3", "name": "Task"},
        "priority": {"id": "2", "name": "High"},
        "project": {"key": "OPS"},
        "assignee": USER,
        "reporter": {"accountId": "5b10a2844c20165700ede21g"},
        "creator": None,
        "created": "2024-05-01T10:00:00.000+0200",
        "updated": "2024-05-02T11:30:00Z",
        "resolutiondate": None,
        "labels": ["hardware"],
    },
    "changelog": {
        "total": 1,
        "histories": [
            {"id": "1", "created": "2024-05-02T11:30:00.000+0000", "items": [{"field": "status"}]}
        ],
    },
}

# Where a wrong value can sit: every level the schema says something about.
PATHS = [
    (),
    ("id",),
    ("key",),
    ("self",),
    ("fields",),
    *[("fields", name) for name in ISSUE["fields"]],
    ("fields", "status", "name"),
    ("fields", "project", "key"),
    ("fields", "assignee", "name"),
    ("fields", "labels", 0),
    ("changelog",),
    ("changelog", "total"),
    ("changelog", "histories"),
    ("changelog", "histories", 0),
    ("changelog", "histories", 0, "created"),
    ("changelog", "histories", 0, "items", 0),
    ("changelog", "histories", 0, "items", 0, "field"),
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "OPS-1", "ops 1", "10001", "x", "2024-05-01T10:00:00Z", "yesterday"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "key", "id", "accountId", "field"]), inner)
    ),
    max_leaves=6,
)


def with_value(path: tuple[Any, ...], value: Any, *, drop: bool) -> Any:
    issue: Any = copy.deepcopy(ISSUE)
    if not path:
        return value
    holder = issue
    for step in path[:-1]:
        holder = holder[step]
    if drop and isinstance(holder, dict):
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    return issue


def agree(issue: Any) -> None:
    explained = list(_issue_validator().iter_errors(issue))
    if issue_conforms(issue):
        assert not explained, (issue, [e.message for e in explained])


def test_the_sample_issue_conforms_and_a_faulty_one_does_not() -> None:
    assert issue_conforms(ISSUE)
    agree(ISSUE)
    assert not issue_conforms(with_value(("fields", "created"), "yesterday", drop=False))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PATHS), JSON, st.booleans())
def test_what_the_fast_validator_passes_the_explainer_passes(
    path: tuple[Any, ...], value: Any, drop: bool
) -> None:
    agree(with_value(path, value, drop=drop))


def test_where_the_drafts_could_differ() -> None:
    """Integers written as floats, booleans as integers, integers beyond 64 bits, the
    end-of-line anchor of a pattern."""
    for value in (1.0, 0.0, True, -1, 2.5, 10**30, -(10**30)):
        agree(with_value(("changelog", "total"), value, drop=False))
    for key in ("OPS-1\n", "OPS-1 ", "1OPS-1", "OPS_2-7"):
        agree(with_value(("key",), key, drop=False))
    agree(with_value(("fields", "created"), "2024-05-01T10:00:00+02:00\n", drop=False))
