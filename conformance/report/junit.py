"""JUnit XML for CI, written from the run's one result at the session's end.

The shape is pytest's own (``junit_family = xunit2``): one ``testsuite`` with the run's counts
and the verdict as properties, one ``testcase`` per row whose ``classname`` and ``name`` are the
row's node id (``test_import`` and ``test_search[OPS]``: passed back to pytest, they select that
row). A row that fails in this run's terms (fail and error; in a strict run warn and blocked
too) is a ``failure`` whose message is its finding codes; skipped, blocked and incomplete rows
are ``skipped`` with the reason. Written once, from the result, rather than by pytest's junitxml
as rows are judged: the same numbers as every other report, and nothing kept per row meanwhile.
"""

from __future__ import annotations

import platform
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.check import CheckRecord, Outcome
from conformance.engine.verdict import row_fails
from conformance.report.files import atomic_write_text
from conformance.report.terminal_text import failure_text, no_surrogates, skip_reason

if TYPE_CHECKING:
    from conformance.engine.result import RunResult

# Characters XML 1.0 cannot hold (control characters Jira text may carry): written as #xNN, as
# pytest's junitxml does.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SKIPPED_OUTCOMES = (Outcome.SKIPPED, Outcome.BLOCKED, Outcome.INCOMPLETE)


def xml_text(text: str) -> str:
    """Text any XML parser accepts: lone surrogates replaced, other invalid characters #xNN."""
    return _NOT_XML.sub(lambda m: f"#x{ord(m.group()):02X}", no_surrogates(text))


def testcase_names(nodeid: str, prefix: str | None = None) -> tuple[str, str]:
    """(classname, name) of a node id, as pytest's junitxml derives them."""
    path, _, name = nodeid.partition("::")
    classname = path.removesuffix(".py").replace("/", ".")
    return (f"{prefix}.{classname}" if prefix else classname), name


def build(result: RunResult, *, suite_name: str = "pytest", prefix: str | None = None) -> str:
    """The JUnit document of a run's result (scrubbed of the run's secrets)."""
    strict = result.settings.strict
    scrub = result.redactor.scrub
    cases: list[ET.Element] = []
    failures = skipped = 0
    for row in result.rows:
        classname, name = testcase_names(row.nodeid, prefix)
        case = ET.Element(
            "testcase",
            classname=xml_text(scrub(classname)),
            name=xml_text(scrub(name)),
            time=f"{row.duration_s:.3f}",
        )
        if row_fails(row.outcome, strict=strict):
            failures += 1
            failure = ET.SubElement(case, "failure", message=xml_text(scrub(_codes(row))))
            failure.text = xml_text(scrub(failure_text(row, None, strict=strict, width=100)))
        elif row.outcome in SKIPPED_OUTCOMES:
            skipped += 1
            reason = xml_text(scrub(skip_reason(row)))
            ET.SubElement(case, "skipped", type="pytest.skip", message=reason).text = reason
        cases.append(case)
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        errors="0",
        failures=str(failures),
        skipped=str(skipped),
        tests=str(len(cases)),
        time=f"{result.duration_s:.3f}",
        # In UTC: a local time zone Python cannot represent (TZ=UTC-24:30) must not stop it.
        timestamp=result.started_at.isoformat(timespec="milliseconds"),
        hostname=xml_text(platform.node()),
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in _properties(result):
        ET.SubElement(properties, "property", name=key, value=xml_text(scrub(value)))
    suite.extend(cases)
    document = ET.Element("testsuites", name="pytest tests")
    document.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(document, encoding="unicode")


def write(
    result: RunResult, path: Path, *, suite_name: str = "pytest", prefix: str | None = None
) -> None:
    """The JUnit file, written whole or not at all."""
    atomic_write_text(path, build(result, suite_name=suite_name, prefix=prefix) + "\n")


def _codes(row: CheckRecord) -> str:
    return ", ".join(f.code for f in row.findings) or row.outcome.value


def _properties(result: RunResult) -> list[tuple[str, str]]:
    """The verdict in JUnit too, so that a CI dashboard cannot show green for a run that is not
    ready."""
    decided = result.verdict
    properties = [
        ("visor.verdict", decided.verdict.value),
        ("visor.exit_code", str(int(decided.exit_code))),
    ]
    if decided.reasons:
        properties.append(("visor.incomplete", ", ".join(r.value for r in decided.reasons)))
        properties.append(("visor.not_run", str(len(decided.not_run))))
    if decided.stopped_by:
        properties.append(("visor.stopped_by", decided.stopped_by))
    return properties
