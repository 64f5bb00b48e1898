"""Integration profiles: the bundled and example profiles load; every kind of mistake is one
sentence naming the file, the line and the key, and on the command line a usage error (exit 4)."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from conformance.profile import BUNDLED, ProfileError, load_profile
from conformance.settings import SettingsError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "profiles").glob("*.yaml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_profiles_load(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.projects is None  # both check every project the bot can see
    assert profile.source == f"bundled profile {name}"


def test_default_profile_reads_and_two_way_writes() -> None:
    assert load_profile(None).access_for("ANY") == "read"
    two_way = load_profile("visor-two-way")
    assert two_way.access_for("ANY") == "write"
    assert two_way.issue_types_for("ANY") == ("Task",)
    assert set(two_way.write_fields) >= {"summary", "description", "labels"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_repository_examples_are_valid(path: Path) -> None:
    profile = load_profile(str(path))
    assert profile.projects, "the examples show an explicit project list"


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 2


def test_per_project_access_and_issue_types_override_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: mixed\n"
        "default_access: write\n"
        "issue_types: [Task]\n"
        "projects:\n"
        "  - key: VIS\n"
        "    issue_types: [Bug, Story]\n"
        "  - key: MKT\n"
        "    access: read\n"
        "fields:\n"
        "  write: [summary, customfield_10100]\n"
    )
    profile = load_profile(str(path))
    assert [spec.key for spec in profile.projects or ()] == ["VIS", "MKT"]
    assert profile.access_for("VIS") == "write"  # inherits default_access
    assert profile.access_for("MKT") == "read"
    assert profile.access_for("OTHER") == "write"  # e.g. given with --jira-project
    assert profile.issue_types_for("VIS") == ("Bug", "Story")
    assert profile.issue_types_for("MKT") == ("Task",)
    assert profile.write_fields == ("summary", "customfield_10100")


# (what is wrong, YAML text, line, key, words the sentence must contain)
INVALID = [
    (
        "yaml-syntax",
        "name: x\nprojects: [VIS\n",
        2,
        "projects",
        "not valid YAML",
    ),
    (
        "yaml-tab",
        "name: x\nprojects: all-visible\nimport:\n\tjql: x\n",
        4,
        "jql",
        "not valid YAML",
    ),
    (
        "unknown-top-level-key",
        "name: x\nprojects: all-visible\nprofile_version: 2\n",
        3,
        "profile_version",
        "unknown key 'profile_version'",
    ),
    (
        "unknown-nested-key-with-suggestion",
        "name: x\nprojects: all-visible\nimport:\n  page_sise: 10\n",
        4,
        "import.page_sise",
        "did you mean 'page_size'?",
    ),
    (
        "unknown-project-key",
        "name: x\nprojects:\n  - key: VIS\n    acess: write\n",
        4,
        "projects[0].acess",
        "did you mean 'access'?",
    ),
    (
        "wrong-type-integer",
        "name: x\nprojects: all-visible\nimport:\n  page_size: many\n",
        4,
        "import.page_size",
        "must be a whole number, not the text 'many'",
    ),
    (
        "wrong-type-boolean",
        "name: x\nprojects: all-visible\nversions:\n  cloud: sometimes\n",
        4,
        "versions.cloud",
        "must be true or false",
    ),
    (
        "wrong-type-projects",
        "name: x\nprojects: 3\n",
        2,
        "projects",
        "must be 'all-visible' or a list of projects, not the number 3",
    ),
    (
        "wrong-enum",
        "name: x\nprojects:\n  - key: VIS\n    access: rw\n",
        4,
        "projects[0].access",
        "must be 'read' or 'write'",
    ),
    (
        "misspelt-all-visible",
        "name: x\nprojects: all-visble\n",
        2,
        "projects",
        "must be 'all-visible' or a list of projects",
    ),
    (
        "empty-project-list",
        "name: x\nprojects: []\n",
        2,
        "projects",
        "the project list is empty",
    ),
    (
        "empty-project-list-block-style",
        "name: x\ndescription: d\nprojects:\n",
        3,
        "projects",
        "must be 'all-visible' or a list of projects, not empty",
    ),
    (
        "bad-project-key",
        "name: x\nprojects:\n  - key: vis\n",
        3,
        "projects[0].key",
        "is not a Jira project key",
    ),
    (
        "missing-required-key",
        "description: no name\nprojects: all-visible\n",
        1,
        "name",
        "this required key is missing",
    ),
    (
        "duplicate-yaml-key",
        "name: x\nprojects: all-visible\nname: y\n",
        3,
        "name",
        "appears twice (first at line 1)",
    ),
    (
        "duplicate-project",
        "name: x\nprojects:\n  - key: VIS\n  - key: OPS\n  - key: VIS\n",
        5,
        "projects[2].key",
        "project VIS is listed twice",
    ),
    (
        "bad-version-range",
        "name: x\nprojects: all-visible\nversions:\n  server: newest\n",
        4,
        "versions.server",
        "is not a version range",
    ),
    (
        "out-of-range",
        "name: x\nprojects: all-visible\nimport:\n  page_size: 0\n",
        4,
        "import.page_size",
        "must be at least 1, not 0",
    ),
    (
        # Python refuses to convert it (ValueError): an INTERNALERROR before issue 23.
        "a-5000-digit-number",
        "name: x\nprojects: all-visible\nimport:\n  page_size: " + "9" * 5000 + "\n",
        4,
        "page_size",
        "a number of 5,000 digits",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "words"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_profile_is_one_sentence_naming_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_profile(str(path))
    error = raised.value
    assert isinstance(error, ProfileError)
    message = str(error)
    assert message.startswith(f"The profile {path} is invalid at line {line}, key {key!r}: ")
    assert words in message
    assert message.endswith(".")
    assert "\n" not in message
    assert message.count(". ") == 0 or "e.g." in message, message  # one sentence


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "the file is empty"), ("- VIS\n- OPS\n", "not a list"), ("just text\n", "not the text")],
    ids=["empty-file", "a-list", "a-scalar"],
)
def test_a_profile_that_is_not_a_mapping_is_refused_at_line_1(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=words) as raised:
        load_profile(str(path))
    assert str(raised.value).startswith(f"The profile {path} is invalid at line 1")


def test_unreadable_profile_names_the_path_and_the_bundled_choices(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(SettingsError) as raised:
        load_profile(str(missing))
    assert str(missing) in str(raised.value)
    assert "visor-default" in str(raised.value)


def test_invalid_profile_on_the_command_line_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = pytester.path / "bad.yaml"
    bad.write_text("name: x\nprojects: []\n")
    monkeypatch.setenv("JIRA_USER", "visor-bot")
    monkeypatch.setenv("JIRA_PASSWORD", "visor-bot-password")
    # Port 9 (discard) is never contacted: the profile is refused before any request.
    result = pytester.runpytest_subprocess(
        "--jira-url", "http://127.0.0.1:9", "--jira-profile", str(bad), "-p", "no:cacheprovider"
    )
    output = str(result.stdout) + str(result.stderr)
    assert result.ret == pytest.ExitCode.USAGE_ERROR and int(result.ret) == 4
    assert (
        f"The profile {bad} is invalid at line 2, key 'projects': the project list is empty"
        in output
    )
    assert "Traceback" not in output
    assert "visor-bot-password" not in output


# -- issue 14 item 13, issue 15: hostile YAML is one sentence, bounded in memory ----------------


def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "name: bomb\n" + "\n".join(lines) + f"\nprojects: *a{levels}\n"


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        (_bomb(), "aliases expand to more than 20000 values", 6),
        ("name: x\nprojects: &p [*p]\n", "an alias refers to the list or mapping", 2),
        ("name: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than 32 levels deep", 1),
        (
            "name: x\nprojects: [" + ", ".join(f"&a{i} 1" for i in range(101)) + "]\n"
            "list: [" + ", ".join(f"*a{i}" for i in range(101)) + "]\n",
            "more than 100 aliases",
            3,
        ),
    ],
    ids=["alias-bomb", "alias-cycle", "deep-nesting", "many-aliases"],
)
def test_yaml_that_would_grow_without_bound_is_refused(
    tmp_path: Path, text: str, words: str, line: int
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ProfileError) as caught:
            load_profile(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"The profile {path} is invalid at line {line}")
    assert peak < 20 * 1024 * 1024  # bytes: bounded, whatever the expansion would be


@pytest.mark.parametrize(
    ("key_yaml", "what"),
    [
        ("? [a, b]\n: 1", "not a list"),
        ("? {a: 1}\n: 1", "not a mapping"),
        ("1: a", "not the number 1"),
        ("null: a", "not null"),
        ("true: a", "not the boolean true"),
    ],
)
def test_a_key_that_is_not_text_names_its_line(tmp_path: Path, key_yaml: str, what: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(f"name: x\nprojects: all-visible\n{key_yaml}\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    assert f"invalid at line 3: a key must be a name (text), {what}" in str(caught.value)


def test_a_yaml_merge_key_is_valid_and_own_keys_win(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "name: merged\nprojects:\n"
        "  - &p {key: ABC, access: write, issue_types: [Task]}\n"
        "  - <<: *p\n    key: DEF\n"
    )
    profile = load_profile(str(path))
    assert [(p.key, p.access) for p in profile.projects or ()] == [
        ("ABC", "write"),
        ("DEF", "write"),
    ]


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "name: x\nprojects:\n  - &p {key: ABC}\n  - <<: *p\n    key: DEF\n    key: GHI\n"
    )
    with pytest.raises(ProfileError, match="line 6, key 'key': the key appears twice"):
        load_profile(str(path))


def test_a_fifo_or_a_huge_file_as_profile_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match="is a named pipe, not an ordinary file"):
        load_profile(str(fifo))
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "# padding\n" * 30000)
    with pytest.raises(SettingsError, match="is larger than 256 KiB"):
        load_profile(str(big))
