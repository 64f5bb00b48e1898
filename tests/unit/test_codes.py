"""The typed diagnosis records (conformance/codes.py) and the catalogue's texts stay in step.

mypy checks each record where it is built; this checks the records against the catalogue: one
record per code, whose fields are exactly what the code's texts fill, whose ``advice`` names
exactly its advice table's keys, and which carries ``via`` exactly when the texts use the
catalogue's credential words.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from importlib import resources
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from conformance import codes
from conformance.findings import (
    CATALOGUE,
    CREDENTIAL_WORDS,
    Diagnosis,
    FindingSpec,
    explain,
    placeholders,
)

RECORDS: dict[str, type[Diagnosis]] = {
    cls.code: cls
    for _, cls in inspect.getmembers(codes, inspect.isclass)
    if issubclass(cls, Diagnosis) and cls.code  # a shared base (no code) is not a record
}
WORDS = frozenset(CREDENTIAL_WORDS["environment"])


def filled_by(spec: FindingSpec) -> set[str]:
    """Every name the entry's summary, remediation and advice texts fill."""
    names = placeholders(spec.summary) | placeholders(spec.remediation)
    for text in spec.advice.values():
        names |= placeholders(text)
    return names


def test_every_code_of_the_catalogue_has_one_record_and_no_record_lacks_a_code() -> None:
    assert set(RECORDS) == set(CATALOGUE)
    names = [cls.__name__ for cls in RECORDS.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_a_records_fields_are_what_its_texts_fill(code: str) -> None:
    spec, record = CATALOGUE[code], RECORDS[code]
    fields = {f.name for f in dataclasses.fields(record)}
    wanted = filled_by(spec)
    words = wanted & WORDS
    assert ("via" in fields) == bool(words), f"{code}: via and the credential words go together"
    expected = (wanted - WORDS - {"advice"}) | ({"via"} if words else set())
    expected |= {"advice"} if spec.advice else set()
    assert fields == expected, f"{code}: fields {sorted(fields)}, texts fill {sorted(expected)}"


@pytest.mark.parametrize("code", sorted(c for c, s in CATALOGUE.items() if s.advice))
def test_a_records_advice_names_exactly_its_advice_table(code: str) -> None:
    hints = get_type_hints(RECORDS[code])
    assert set(get_args(hints["advice"])) == set(CATALOGUE[code].advice)


def test_explain_fills_a_record_into_the_catalogue_text() -> None:
    found = explain(codes.NetDns(host="jira.invalid", error="Name or service not known"))
    assert found.code == "NET_DNS"
    assert "jira.invalid" in found.summary and "Name or service not known" in found.summary
    prompt = explain(codes.AuthSsoRedirect(location="https://idp.example/saml", via="prompt"))
    assert CREDENTIAL_WORDS["prompt"]["use_token"] in prompt.remediation


def test_product_code_builds_findings_only_from_typed_records() -> None:
    """``findings.finding("CODE", **params)`` is checked only at run time: outside the catalogue
    itself, the package builds findings from records, which mypy checks."""
    package = Path(str(resources.files("conformance")))  # a folder: the package is not zipped
    offenders = []
    for path in sorted(_python_files(package)):
        if path.name == "findings.py" and path.parent.name == "conformance":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_catalogue_finding(node.func):
                offenders.append(f"{path.parent.name}/{path.name}:{node.lineno}")
    assert not offenders, offenders


def _is_catalogue_finding(func: ast.expr) -> bool:
    """``finding(...)`` or ``findings.finding(...)``: the string-keyed renderer."""
    if isinstance(func, ast.Name):
        return func.id == "finding"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "finding"
        and isinstance(func.value, ast.Name)
        and func.value.id == "findings"
    )


def _python_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            found += _python_files(entry)
        elif entry.name.endswith(".py"):
            found.append(entry)
    return found
