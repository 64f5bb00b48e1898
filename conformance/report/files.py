"""Report files: names unique per run, folders proven writable up front, writes atomic."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from conformance.settings import Settings, SettingsError


def report_paths(settings: Settings) -> dict[str, Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    host = re.sub(r"[^A-Za-z0-9.-]", "_", settings.host)[:60]
    name = f"{host}-{stamp}-{secrets.token_hex(2)}"
    return {kind: settings.report_dir / f"{name}.{kind}" for kind in ("html", "json", "xml")}


def validate_output(settings: Settings) -> None:
    """Prove the report folder (and --jira-json's folder) writable before any request."""
    folders = [("--jira-report-dir", settings.report_dir)]
    if settings.json_path is not None:
        folders.append(("--jira-json", settings.json_path.parent))
    for option, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".visor-write-test-"):
                pass
        except OSError as exc:
            raise SettingsError(
                f"{option} {str(folder)!r} cannot be written ({exc.strerror or exc}): choose a "
                "folder you can write to"
            ) from None


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
