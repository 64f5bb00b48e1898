"""The customer command as customers get it (issues 13 and 25): built as a wheel, installed in a fresh
venv, run against the emulator. It must be quiet: no pytest "warnings summary"
(PytestAssertRewriteWarning), no progress dots, no "Generated html report" rule.

About 50 s on a busy machine (build ~14 s, install ~22 s, the runs ~10 s); it stays in the
default run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.accounts import BOT
from tests.e2e.test_cli import clean_env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """visor-jira-check from the project's wheel, in a venv of its own."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "-w",
            str(root / "dist"),
            "--no-deps",
            "-q",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheels = sorted((root / "dist").glob("visor_jira_conformance-*.whl"))
    assert len(wheels) == 1, wheels
    # A venv without its own pip, filled by this pip (--python): the same install, 10 s sooner.
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-compile",
            str(wheels[0]),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv / "bin" / "visor-jira-check"


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """``python -m conformance.emulator``: a process of its own, its base URL first on stdout."""
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.emulator", "--scenario", "dc-healthy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_installed_command_prints_only_the_verdict_block(
    installed_command: Path, emulator_url: str, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **BOT)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(installed_command), "--jira-url", emulator_url],  # the synonym of the URL argument
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"READY for Visor: {emulator_url}" in result.stdout
    for jargon in ("warnings summary", "PytestAssertRewriteWarning", "Generated html report"):
        assert jargon not in output, output
    assert "passed" not in output and "[100%]" not in output, output
    assert not any(line and set(line) <= set(".sxF") for line in output.splitlines()), output
    assert result.stderr == "", result.stderr
    assert list((tmp_path / "reports").glob("*.html"))


def test_the_installed_command_is_the_wheel_not_the_work_tree(
    installed_command: Path, tmp_path: Path
) -> None:
    code = "import conformance; print(conformance.__file__)"
    python = installed_command.with_name("python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert "site-packages" in where.stdout and str(REPO) not in where.stdout


def test_the_installed_commands_hand_the_credentials_over(
    installed_command: Path, emulator_url: str, tmp_path: Path
) -> None:
    """Both sides of the hand-over (issue 25) from the wheel alone: support's key from the
    customer command, the customer's sealed file, support's ``pytest --jira-handoff``."""

    def run(command: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        env = clean_env(tmp_path, **extra)
        env.pop("PYTHONPATH", None)
        cwd.mkdir(exist_ok=True)
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )

    key = tmp_path / "support.key"
    made = run([str(installed_command), "--new-identity", str(key)], tmp_path)
    assert made.returncode == 0, made.stderr
    recipient = made.stdout.splitlines()[-1]
    sealed = run(
        [str(installed_command), emulator_url, "--seal-for", recipient], tmp_path / "c", **BOT
    )
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert "Sealed for Visor support" in sealed.stdout
    (handoff,) = (tmp_path / "c" / "reports").glob("*.visor-handoff.age")
    pytest_command = installed_command.with_name("pytest")
    opened = run(
        [str(pytest_command), "--jira-handoff", str(handoff)],
        tmp_path / "s",
        VISOR_AGE_IDENTITY=str(key),
    )
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert f"READY for Visor: {emulator_url}" in opened.stdout
    # The header wraps to the terminal's width: read it as words.
    said = " ".join(opened.stdout.split())
    assert f"jira: {emulator_url} (from handoff {handoff}, sealed " in said
