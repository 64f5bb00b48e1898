"""JQL values are quoted by Jira's rules: a name with a backslash or a quote stays one value."""

from __future__ import annotations

import pytest

from conformance.emulator.jql import Clause, parse
from conformance.probes.search import jql_string


@pytest.mark.parametrize("name", ["Bug", "Bug\\", 'Say "hi"', 'a\\"b', "Ünïcode 日本"])
def test_a_quoted_name_reads_back_as_itself(name: str) -> None:
    query = parse(f"issuetype in ({jql_string(name)}, {jql_string('Task')}) ORDER BY key DESC")
    assert isinstance(query.where, Clause)
    assert query.where.values == [name, "Task"]
