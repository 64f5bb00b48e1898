"""What a person sees while the run works, on a real pseudo-terminal 80 columns wide (issue 24).

The customer command shows a line per area with ✓/✗/! and counts, and a live line that counts
projects and issues (plain lines when stdout is not a terminal); ``pytest --jira-url`` groups
its rows by area instead of a wall of dots. Every line fits the terminal (an unbreakable path
alone on its line aside), and a fix is printed once.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.accounts import BOT
from tests.e2e.test_cli import COMMAND, clean_env, on_pty, run_command

COLUMNS = 80
PYTEST = [sys.executable, "-m", "pytest"]
# A customer's install has no test plugins: without them pytest's own "plugins:" line is short.
NO_TEST_PLUGINS = ["-p", "no:xdist", "-p", "no:hypothesispytest", "-p", "no:randomly"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TWO_WAY = ["--jira-profile", "visor-two-way"]


def screen_lines(raw: str) -> list[str]:
    """Each state of each line a terminal shows: a carriage return starts the line again (the
    live line's redraws), colour codes take no room."""
    states: list[str] = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        states += [ANSI.sub("", part) for part in line.split("\r")]
    return states


def too_wide(raw: str) -> list[str]:
    """Lines wider than the terminal, but for a single unbreakable word (a path) alone."""
    return [line for line in screen_lines(raw) if len(line) > COLUMNS and len(line.split()) > 1]


def test_the_customer_command_shows_each_area_and_a_live_count_on_a_terminal(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions", projects=12, latency_ms=40)
    env = clean_env(tmp_path, **BOT)
    code, raw = on_pty([COMMAND, server.url, *TWO_WAY], tmp_path, env, columns=COLUMNS, timeout=300)
    assert code == 1, raw[-3000:]
    lines = screen_lines(raw)
    # What is checked, said before the first answer comes back.
    assert any(line.startswith(f"Checking {server.url} for Visor") for line in lines)
    # One line per area as it completes: its mark and its counts.
    for area in ("Network", "REST API", "Bot account", "Jira version"):
        assert any(re.match(rf"[✓!] {area} +\d+ pass", line) for line in lines), area
    assert any(re.match(r"✗ Project permissions +\d+ pass, \d+ fail", line) for line in lines)
    assert any(re.match(r"✓ Test import +\d+ pass", line) for line in lines)
    # The live line: redrawn in place (a carriage return, the line cleared), counting.
    assert "\r\x1b[K" in raw
    live = [line for line in lines if line.startswith("Projects: ")]
    assert live and all(
        re.fullmatch(r"Projects: \d+ of 12 checked(, [\d,]+ issues imported)?", x) for x in live
    )
    assert any("issues imported" in x for x in live)
    # Then the verdict, and every line fits the terminal.
    assert "NOT READY for Visor" in raw
    assert too_wide(raw) == []


def test_the_customer_command_prints_plain_progress_lines_into_a_pipe(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("dc-healthy", projects=12)
    env = clean_env(tmp_path, **BOT, COLUMNS=str(COLUMNS))
    done = run_command(tmp_path, server.url, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert any(re.match(r"[✓!] Network +\d+ pass", line) for line in lines)
    # A plain line at each tenth of the projects, the last one complete.
    counts = [line.strip() for line in lines if line.strip().startswith("Projects: ")]
    assert counts and counts[-1].startswith("Projects: 12 of 12 checked")
    assert len(counts) <= 12


def test_pytest_groups_rows_by_area_and_fits_80_columns_with_each_fix_once(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("mixed-permissions", projects=12)
    env = clean_env(tmp_path, **BOT)
    argv = [*PYTEST, "--jira-url", server.url, *TWO_WAY, *NO_TEST_PLUGINS]
    argv += ["-p", "no:cacheprovider", "--jira-report-dir", str(tmp_path / "reports")]
    argv += ["--jira-timeout", "30", "--jira-concurrency", "4"]  # a longer settings line
    # pytest's own header says "rootdir: <the folder it runs in>": a short folder, as a
    # person's usually is (a test's temporary folder can be longer than the line).
    with tempfile.TemporaryDirectory(prefix="vc-") as short:
        code, raw = on_pty(argv, Path(short), env, columns=COLUMNS, timeout=300)
    assert code == 1, raw[-3000:]
    lines = screen_lines(raw)
    # Grouped: a line per area (the -m marker's name) and per tenth of the projects, no dots.
    for area in ("reachability", "api", "auth", "version", "permissions", "import"):
        assert any(re.match(rf"{area} +[✓✗!] \d", line) for line in lines), area
    assert any(re.match(r"projects +.+ \(\d+ of 12\): ", line) for line in lines)
    assert not any(re.fullmatch(r"\S+\.py [.sFE]+.*", line) for line in lines)
    # pytest's summary counts with our outcome words, as the closing block does.
    assert re.search(r"\d+ failed, \d+ passed, .*\d+ blocked", "\n".join(lines))
    # Every line fits 80 columns: the settings header, FAILURES, the closing block, the last.
    assert too_wide(raw) == []
    assert any(line.startswith("settings: ") for line in lines)
    # A fix is printed once: in the numbered list, not again under FAILURES.
    text = "\n".join(lines)
    failures = text[text.index("FAILURES") : text.index("short test summary")]
    assert "What to change: fix #1 in the list at the end of this run." in failures
    assert "Fix:" not in failures and "Project settings > Permissions" not in failures
    block = text[text.rindex("Fix these first") :]
    assert block.count("Fix: ") >= 1
