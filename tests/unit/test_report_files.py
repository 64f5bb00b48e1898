"""Report files: unique names per run (issue 14 item 5), a destination checked up front and atomic
writes (issue 15), a file name that stays short for a long host."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance.report import files
from conformance.settings import Settings, SettingsError

MOMENT = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)


def _settings(tmp_path: Path, host: str = "jira.example.com", **kw: object) -> Settings:
    return Settings(url=f"https://{host}", credentials=None, report_dir=tmp_path / "r", **kw)  # type: ignore[arg-type]


def test_two_runs_in_the_same_millisecond_get_different_names(tmp_path: Path) -> None:
    first = files.report_paths(_settings(tmp_path), MOMENT)
    second = files.report_paths(_settings(tmp_path), MOMENT)
    assert set(first) == {"html", "json", "xml"}
    assert first["html"] != second["html"]
    for paths in (first, second):
        stems = {path.name.rsplit(".", 1)[0] for path in paths.values()}
        assert len(stems) == 1  # the three reports of one run share one name
        assert stems.pop().startswith("jira.example.com-20261201T100000.123Z-")


def test_a_long_host_gives_a_short_unique_file_name(tmp_path: Path) -> None:
    host = ".".join(["a" * 61] * 4)[:247]
    other = host[:-1] + "b"
    name = files.report_paths(_settings(tmp_path, host), MOMENT)["html"].name
    assert len(name.encode()) < 120
    assert files.file_safe_host(host) != files.file_safe_host(other)
    assert len(files.file_safe_host(host)) == files.MAX_HOST_CHARS


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    files.atomic_write_text(target, "new \ud800 text")  # a lone surrogate is not an error
    assert target.read_text(encoding="utf-8") == "new ? text"
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("complete old report")

    with pytest.raises(TypeError):
        files.atomic_write_bytes(target, 12345)  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text() == "complete old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_output_check_creates_the_folder_and_leaves_nothing_in_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, json_path=tmp_path / "result.json")
    files.validate_output(settings)
    assert (tmp_path / "r").is_dir() and list((tmp_path / "r").iterdir()) == []
    assert not (tmp_path / "result.json").exists()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("file-in-the-way", "cannot be created because a file of that name is in the way"),
        ("json-is-a-folder", "--jira-json"),
        ("json-missing-folder", "which does not exist: create it first"),
        ("json-device", "is a device"),
    ],
)
def test_every_bad_destination_is_one_sentence(tmp_path: Path, case: str, words: str) -> None:
    report_dir, json_path = tmp_path / "r", None
    if case == "file-in-the-way":
        report_dir.write_text("a file")
    elif case == "json-is-a-folder":
        json_path = tmp_path
    elif case == "json-missing-folder":
        json_path = tmp_path / "missing" / "result.json"
    else:
        json_path = Path("/dev/full")
    with pytest.raises(SettingsError) as caught:
        files.check_output_paths(report_dir, json_path, {"report-dir": "--jira-report-dir"})
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tiny file system")
def test_a_full_disk_is_found_up_front(tmp_path: Path) -> None:
    import subprocess
    import sys

    mount = tmp_path / "full"
    mount.mkdir()
    code = (
        "import sys; from pathlib import Path; from conformance.report import files\n"
        "from conformance.settings import SettingsError\n"
        "d = Path(sys.argv[1]); (d / 'reports').mkdir()\n"
        "try:\n    (d / 'filler').write_bytes(b'x' * (1024 * 1024))\nexcept OSError:\n    pass\n"
        "try:\n    files.check_output_paths(d / 'reports', None)\n"
        "except SettingsError as exc:\n    print(exc)\n"
    )
    script = 'mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" -c "$3" "$1"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(mount), sys.executable, code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    assert "(the disk is full): give another folder with --jira-report-dir" in result.stdout, (
        result.stdout + result.stderr
    )
