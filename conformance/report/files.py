"""Where a run's reports go: unique names, a destination proven writable up front, atomic writes.

Two runs started in the same second from one folder must not overwrite each other's reports, a
reader must never see half a file, and a destination that cannot take a file is a usage error
(exit 4) before the first request, not a traceback after the whole run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.settings import SettingsError, file_kind

if TYPE_CHECKING:
    from conformance.settings import Settings

REPORT_KINDS = ("html", "json", "xml")
MAX_HOST_CHARS = 60  # a 253-character host name would make a file name longer than 255 bytes
_PROBE_BYTES = 4096  # written and synced by the writability probe, so a full disk shows up
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def report_stem(host: str, now: datetime | None = None) -> str:
    """``<host>-<UTC timestamp with milliseconds>-<random>``: unique per run, sorted by time."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f".{moment.microsecond // 1000:03d}Z"
    return f"{file_safe_host(host)}-{stamp}-{secrets.token_hex(3)}"


def file_safe_host(host: str) -> str:
    """The host as a file-name part: safe characters only, at most MAX_HOST_CHARS (with a hash)."""
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", host) or "jira"
    if len(safe) <= MAX_HOST_CHARS:
        return safe
    digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[: MAX_HOST_CHARS - 9]}-{digest}"


def report_paths(settings: Settings, now: datetime | None = None) -> dict[str, Path]:
    """The run's report files, keys "html", "json", "xml", sharing one unique stem."""
    stem = report_stem(settings.host, now)
    return {kind: settings.report_dir / f"{stem}.{kind}" for kind in REPORT_KINDS}


def beside(paths: dict[str, Path], suffix: str) -> Path:
    """A file beside the run's reports, with their stem: ``beside(paths, ".visor-handoff.age")``."""
    json_path = paths["json"]
    return json_path.with_name(json_path.name.removesuffix(".json") + suffix)


# -- up-front checks -----------------------------------------------------------------------------


def validate_output(settings: Settings) -> None:
    """Create the report folder and prove it, and the --jira-json path, writable (exit 4 if not)."""
    check_output_paths(settings.report_dir, settings.json_path, settings.sources)


def check_output_paths(
    report_dir: Path, json_path: Path | None, sources: dict[str, str] | None = None
) -> None:
    """The same check for callers that have no Settings yet (the customer command)."""
    source = (sources or {}).get("report-dir", "default")
    if source == "default":
        where = f"the report folder {str(report_dir)!r} (the default, in the current folder)"
    else:
        where = f"{_option_of(source, '--jira-report-dir')} {str(report_dir)!r}"
    advice = "give another folder with --jira-report-dir"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SettingsError(
            f"{where} cannot be created because a file of that name is in the way: {advice}"
        ) from None
    except OSError as exc:
        raise SettingsError(f"{where} cannot be created ({why_not(exc)}): {advice}") from None
    if not report_dir.is_dir():
        raise SettingsError(f"{where} is not a folder: {advice}")
    _prove_writable(report_dir, where, advice)
    if json_path is None:
        return
    json_label = _option_of((sources or {}).get("json", "--jira-json"), "--jira-json")
    shown = f"{json_label} {str(json_path)!r}"
    try:
        info = os.stat(json_path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise SettingsError(f"{shown} cannot be used ({why_not(exc)})") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise SettingsError(
            f"{shown} is {file_kind(info.st_mode)}: give the path of a file to write, e.g. "
            f"{str(Path(json_path) / 'result.json')!r}"
        )
    parent = json_path.parent
    if not parent.is_dir():
        raise SettingsError(
            f"{shown} is in the folder {str(parent)!r}, which does not exist: create it first "
            "or give another path"
        )
    _prove_writable(
        parent, f"{shown} cannot be written: its folder {str(parent)!r}", "give another path"
    )
    if info is not None and not os.access(json_path, os.W_OK):
        raise SettingsError(f"{shown} exists and cannot be overwritten: give another path")


def _option_of(source: str, default: str) -> str:
    """'--jira-json' or 'ini jira_json' from a settings source such as 'ini jira_json'."""
    return source if source.startswith(("--", "ini ", "env ")) else default


def _prove_writable(folder: Path, where: str, advice: str) -> None:
    """Write, sync and remove a small temporary file in ``folder`` (a full disk fails here)."""
    try:
        handle, name = tempfile.mkstemp(prefix=".visor-probe-", dir=folder)
    except OSError as exc:
        raise SettingsError(f"{where} is not writable ({why_not(exc)}): {advice}") from None
    try:
        try:
            os.write(handle, b"\0" * _PROBE_BYTES)
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        raise SettingsError(f"{where} cannot take a file ({why_not(exc)}): {advice}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def why_not(exc: OSError) -> str:
    """An OSError in the words of someone who asked for a file: 'the disk is full'."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EFBIG:
        return "the file is larger than this process may write"
    return exc.strerror or str(exc)


# -- atomic writes -------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_file(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary file next to ``path`` to write (by name, by anyone), then synced and renamed
    into place: a reader sees the old file or the whole new one, never a part; a failure (a full
    disk, a file system turned read-only) leaves neither a partial file nor the temporary one,
    and other reports are untouched. ``mode`` sets the file's permissions (a hand-over is its
    owner's only); by default an existing file keeps its own and a new one gets what open()
    would give it."""
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(name)
        handle = os.open(name, os.O_RDONLY)
        try:
            os.fchmod(handle, _mode_for(path) if mode is None else mode)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """``data`` written whole at ``path`` or not at all (``atomic_file``)."""
    with atomic_file(path, mode=mode) as temporary, temporary.open("wb") as stream:
        stream.write(data)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """``atomic_write_bytes`` for text; a lone surrogate becomes U+FFFD rather than an error."""
    atomic_write_bytes(path, text.encode(encoding, errors="replace"))


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets what open() would give it."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_UMASK
