"""The Environment allowlist, URL credentials, log records and report scrubbing."""

from __future__ import annotations

import logging

import pytest

from conformance.report import hygiene
from conformance.secrets import MASK, Redactor

SECRET = "hygiene-Secret-81"


def test_metadata_keeps_only_the_allowlist_and_escapes_values_for_the_page() -> None:
    metadata = {
        "Python": "3.11.7",
        "Platform": "Linux<script>",
        "Packages": {"pytest": "9.2.0"},
        "Plugins": {"html": "4.2.0"},
        "JAVA_HOME": "/usr/lib/jvm/java-17",
        "GIT_URL": f"https://ci:{SECRET}@git.example.com/r.git",
        "CI": "true",
        "BUILD_URL": "https://jenkins.example.com/job/1/",
    }
    hygiene.filter_metadata(metadata, for_html=True)
    assert set(metadata) == hygiene.METADATA_ALLOWLIST
    assert metadata["Platform"] == "Linux&lt;script&gt;"
    assert SECRET not in repr(metadata)


def test_url_credentials_are_masked_anywhere_in_a_value() -> None:
    text = f"clone https://ci:{SECRET}@git.example.com/r.git and http://u@h/"
    assert hygiene.strip_url_credentials(text) == (
        f"clone https://{MASK}@git.example.com/r.git and http://{MASK}@h/"
    )


def test_log_records_are_scrubbed_when_made_and_the_factory_restored() -> None:
    redactor = Redactor()
    redactor.register(SECRET)
    plugin = hygiene.HygienePlugin(redactor)
    original = logging.getLogRecordFactory()
    plugin.pytest_sessionstart()
    try:
        record = logging.getLogger("urllib3").makeRecord(
            "urllib3", logging.DEBUG, __file__, 1, "Authorization: %s", (SECRET,), None
        )
        assert record.getMessage() == f"Authorization: {MASK}"
    finally:
        plugin.pytest_unconfigure()
    assert logging.getLogRecordFactory() is original


def test_reports_are_scrubbed_and_skip_reasons_stay_tuples() -> None:
    redactor = Redactor()
    redactor.register(SECRET)
    plugin = hygiene.HygienePlugin(redactor)
    report = pytest.TestReport(
        nodeid="t.py::test",
        location=("t.py", 1, "test"),
        keywords={},
        outcome="skipped",
        longrepr=("t.py", 1, f"Skipped: token {SECRET}"),
        when="call",
        sections=[("Captured log call", f"DEBUG {SECRET}")],
    )
    report.extras = [{"content": f"text {SECRET}"}, {"content": {"k": SECRET}}]  # type: ignore[attr-defined]
    plugin.pytest_runtest_logreport(report)
    assert report.longrepr == ("t.py", 1, f"Skipped: token {MASK}")
    assert report.sections == [("Captured log call", f"DEBUG {MASK}")]
    assert SECRET not in repr(report.extras)


def test_what_the_terminal_writes_is_scrubbed(pytester: pytest.Pytester) -> None:
    """Interrupt tracebacks and collection errors are printed by pytest's terminal writer:
    once the session starts, its stream scrubs every write."""
    import io

    redactor = Redactor()
    redactor.register(SECRET)
    config = pytester.parseconfigure()
    writer = config.get_terminal_writer()
    sink = io.StringIO()
    writer._file = sink
    hygiene.HygienePlugin(redactor, config).pytest_sessionstart()
    hygiene.scrub_terminal(config, redactor)  # twice: still one wrapper
    writer.line(f"headers = {{'Authorization': 'Bearer {SECRET}'}}")
    assert sink.getvalue() == f"headers = {{'Authorization': 'Bearer {MASK}'}}\n"
    assert isinstance(writer._file, hygiene.ScrubbingStream)
    assert not isinstance(writer._file.stream, hygiene.ScrubbingStream)


def test_an_internal_error_without_the_terminal_is_printed_scrubbed(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    redactor = Redactor()
    redactor.register(SECRET)
    config = pytester.parseconfigure("-p", "no:terminal")
    plugin = hygiene.HygienePlugin(redactor, config)
    assert plugin.pytest_internalerror(f"Traceback\nValueError: token {SECRET}") is True
    err = capsys.readouterr().err
    assert err == f"INTERNALERROR> Traceback\nINTERNALERROR> ValueError: token {MASK}\n"
    with_terminal = hygiene.HygienePlugin(redactor, pytester.parseconfigure())
    assert with_terminal.pytest_internalerror("x") is None  # the terminal prints it, scrubbed
