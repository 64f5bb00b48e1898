"""Property: whatever Jira (or a proxy) sends, classification and every report survive it.

Random status codes, headers and bodies in random encodings go through the classifier, become a
row's finding, notes and evidence, and are rendered as the JSON result (validated by the
schema), the HTML summary and details, and the terminal's closing block. Nothing may raise, the
JSON must be whole, no control character from Jira may reach the terminal, and no tag from Jira
may reach the HTML unescaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.check import Outcome
from conformance.classify import Asked, judge
from conformance.engine.result import Identity
from conformance.findings import explain
from conformance.report import html, json_result, terminal
from tests.runs import validated
from tests.unit.report_fixtures import add, evidence, exchange, finished, make_target

HOSTILE = ["\x1b[2J", "\x1b]0;owned\x07", "\r[NET_OK] fine", "\n[NET_OK] fine", "\u202e", "\x9b"]
MARKUP = "<script>alert(1)</script>"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

texts = st.text(max_size=80) | st.sampled_from([*HOSTILE, MARKUP, "\ud83d", "€ ü 日本語"])
encodings = st.sampled_from(["utf-8", "latin-1", "utf-16", "shift_jis", "cp1252"])


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "text", "bytes", "html"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    words = draw(texts) + draw(texts)
    if kind == "json":
        raw = json.dumps({"errorMessages": [words], "message": draw(texts)}, ensure_ascii=False)
    elif kind == "html":
        raw = f"<html><title>{words}</title>{draw(texts)}</html>"
    else:
        raw = words
    return raw.encode(draw(encodings), errors="replace")


headers = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "Location", "X-Seraph-LoginReason", "X-AUSERNAME", "Retry-After"]
    ),
    texts.map(lambda t: t.encode("latin-1", "replace").decode("latin-1")),
    max_size=4,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from([200, 301, 302, 400, 401, 403, 404, 410, 429, 500, 502, 503]),
    answer_headers=headers,
    body=bodies(),
    project=texts,
    note=texts,
)
def test_any_answer_reaches_every_report_whole_and_harmless(
    tmp_path_factory: object,
    status: int,
    answer_headers: dict[str, str],
    body: bytes,
    project: str,
    note: str,
) -> None:
    verdict = judge(status, answer_headers, body, Asked(endpoint="/rest/api/2/myself"))
    target = make_target()
    record = add(target, "auth.authenticates", Outcome.FAIL, findings=("NET_REFUSED",))
    if verdict.diagnosis is not None:
        record.findings = [explain(verdict.diagnosis)]
    record.project = project or None
    record.notes.append(note)
    text = body.decode("utf-8", errors="replace")
    record.evidence.append(
        evidence(exchange(status=status, headers=answer_headers, body_excerpt=text), note=note)
    )
    done = replace(finished(target), identity=Identity(version=note))
    result = json_result.build(done)
    path = Path(str(tmp_path_factory.mktemp("json"))) / "result.json"  # type: ignore[attr-defined]
    json_result.write(result, path)
    validated(json.loads(path.read_text(encoding="utf-8")))

    page = html.render_summary(done) + html.details_html(done, record)
    page.encode("utf-8")
    assert MARKUP not in page

    for line in terminal.closing_block(done, {}, 80):
        assert not CONTROL.search(line), repr(line)
