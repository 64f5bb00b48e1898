"""Version facts: learned from versionNumbers only, support ranges, end-of-support dates, choices."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from conformance import versions
from conformance.findings import credential_words, finding
from conformance.versions import JiraVersion

TODAY = date(2026, 11, 27)


def server_info(
    numbers: object, deployment: object = "Server", **extra: object
) -> dict[str, object]:
    return {
        "baseUrl": "https://jira",
        "version": "x",
        "versionNumbers": numbers,
        "deploymentType": deployment,
        **extra,
    }


def dc(*numbers: int) -> JiraVersion:
    return JiraVersion(numbers, "Server")


CLOUD = JiraVersion((1001, 0, 0), "Cloud", "1001.0.0-SNAPSHOT")


def test_version_comes_from_version_numbers_never_from_the_build_number() -> None:
    version, reason = versions.learn(server_info([8, 5, 5], buildNumber=10030019))
    assert reason == "" and version == JiraVersion((8, 5, 5), "Server", "x")


def test_data_center_reports_server_and_cloud_reports_cloud() -> None:
    server, _ = versions.learn(server_info([10, 3, 19], "Server"))
    cloud, _ = versions.learn(server_info([1001, 0, 0], "Cloud"))
    assert server is not None and server.deployment == "Server"
    assert cloud is not None and cloud.cloud


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"version": "10.3.1"}, "no versionNumbers (its version text is '10.3.1')"),
        (server_info("10.3.1"), "not a list of whole numbers"),
        (server_info([]), "not a list of whole numbers"),
        (server_info([10, True]), "not a list of whole numbers"),
        (server_info([10, 3], "Mainframe"), "neither Server nor Cloud"),
        (["not", "an", "object"], "did not answer a JSON object"),
    ],
)
def test_unusable_server_info_says_why(body: object, words: str) -> None:
    version, reason = versions.learn(body)
    assert version is None and words in reason


@pytest.mark.parametrize(
    ("version", "expected"),
    [(dc(7, 13, 18), True), (dc(7, 12, 9), False), (dc(11, 3, 12), True), (dc(8, 20, 30), True)],
)
def test_supported_range_is_a_pep440_specifier(version: JiraVersion, expected: bool) -> None:
    assert versions.supported(version, ">=7.13", True)[0] is expected


def test_cloud_support_is_a_profile_switch_and_a_bad_range_is_not_supported() -> None:
    assert versions.supported(CLOUD, ">=99", True) == (True, "Jira Cloud")
    assert versions.supported(CLOUD, ">=7.13", False)[0] is False
    assert versions.supported(dc(10, 3), "not a range", True)[0] is False


@pytest.mark.parametrize(
    ("version", "ended", "ends"),
    [
        (dc(9, 12, 15), True, "28 Nov 2025"),
        (dc(9, 4, 1), True, "14 Nov 2024"),
        (dc(9, 7, 0), True, "no later than 26 Jun 2026"),
        (dc(8, 20, 30), True, "about Nov 2023"),
        (dc(7, 13, 18), True, "about Nov 2020"),
        (dc(6, 4, 14), True, "years ago"),
        (dc(10, 0, 1), True, "22 Aug 2026"),
        (dc(10, 3, 12), False, "about Dec 2026"),
    ],
)
def test_end_of_support(version: JiraVersion, ended: bool, ends: str) -> None:
    window = versions.end_of_support(version, TODAY)
    assert window is not None and window.ended is ended and window.ends == ends


def test_server_licences_ended_in_2024_and_10_x_is_data_center_only() -> None:
    nine, ten = (versions.end_of_support(dc(*v), TODAY) for v in ((9, 12, 15), (10, 3, 12)))
    assert nine is not None and "15 Feb 2024" in nine.server_note
    assert ten is not None and ten.server_note == ""


def test_no_end_of_support_for_cloud_or_an_unlisted_new_line() -> None:
    assert versions.end_of_support(CLOUD, TODAY) is None
    assert versions.end_of_support(dc(11, 3, 12), TODAY) is None


@pytest.mark.parametrize(
    ("version", "createmeta", "credentials", "search", "basic"),
    [
        (
            dc(7, 13, 18),
            "createmeta?projectKeys",
            "password",
            "/rest/api/2/search",
            "on by default",
        ),
        (
            dc(8, 20, 30),
            "issuetypes",
            "personal access token",
            "/rest/api/2/search",
            "on by default",
        ),
        (
            dc(9, 12, 15),
            "issuetypes",
            "personal access token",
            "/rest/api/2/search",
            "on by default",
        ),
        (
            dc(11, 3, 12),
            "issuetypes",
            "personal access token",
            "/rest/api/2/search",
            "off by default",
        ),
        (CLOUD, "issuetypes", "API token", "/rest/api/3/search/jql", "API tokens only"),
    ],
)
def test_version_dependent_choices(
    version: JiraVersion, createmeta: str, credentials: str, search: str, basic: str
) -> None:
    chosen = {choice.topic: choice for choice in versions.choices(version)}
    assert createmeta in chosen["createmeta"].choice
    assert credentials in chosen["credentials"].choice
    assert search in chosen["search"].choice and versions.search_endpoint(version) == search
    assert basic in chosen["basic authentication"].choice


def test_old_createmeta_reason_names_its_removal_in_9() -> None:
    assert "removed in 9.0" in versions.createmeta_form(dc(9, 0, 0)).why
    assert "still works" in versions.createmeta_form(dc(8, 4, 0)).why


@pytest.mark.parametrize(
    ("numbers", "has"), [((8, 13, 9), False), ((8, 14, 0), True), (None, True)]
)
def test_personal_access_tokens_from_8_14(numbers: tuple[int, ...] | None, has: bool) -> None:
    assert versions.has_pats(numbers) is has


# The credential advice as the catalogue renders it, with the facts its call sites give.
def remediation(code: str, advice: str, origin: str | None, **facts: object) -> str:
    summary = {"reason": "r", "secret_kind": "token", "scheme": "basic", "deployment": "Jira"}
    params: dict[str, Any] = {**summary, **facts, **credential_words(origin)}
    return finding(code, advice=advice, **params).remediation


def basic_disabled(numbers: tuple[int, ...], user: str | None, origin: str | None = None) -> str:
    advice = versions.basic_disabled_advice(numbers)
    version = versions.label(numbers)
    return remediation(
        "AUTH_BASIC_DISABLED", advice, origin, user=user or "the bot", version=version
    )


def pat_as_password(numbers: tuple[int, ...], origin: str | None = None) -> str:
    advice = versions.pat_as_password_advice(numbers)
    return remediation("AUTH_WRONG_SCHEME", advice, origin, version=versions.shown(numbers))


def no_pat(numbers: tuple[int, ...], origin: str | None = None) -> str:
    return remediation("AUTH_WRONG_SCHEME", "no_pat", origin, version=versions.shown(numbers))


def cloud_api_token(origin: str | None = None) -> str:
    return remediation("AUTH_WRONG_SCHEME", "cloud_api_token", origin)


def test_basic_disabled_advice_depends_on_the_version() -> None:
    assert "Jira 11 disables" in basic_disabled((11, 3, 12), "visor-bot")
    modern = basic_disabled((10, 3, 12), "visor-bot")
    assert "personal access token" in modern and "Jira 11" not in modern
    assert "allowed-users" in modern and "visor-bot" in modern
    assert "SSO for Atlassian Data Center" in basic_disabled((8, 5, 0), None)


def test_a_token_on_a_version_without_tokens_advises_the_password() -> None:
    assert "JIRA_PASSWORD" in pat_as_password((7, 13, 18))
    assert "Unset JIRA_USER" in pat_as_password((10, 3, 12))


def test_credential_advice_follows_where_the_credentials_came_from() -> None:
    prompted = [
        cloud_api_token("prompt"),
        no_pat((7, 13, 18), "prompt"),
        pat_as_password((10, 3, 12), "prompt"),
        basic_disabled((10, 3, 12), "visor-bot", "prompt"),
    ]
    for advice in prompted:
        assert "at the prompt" in advice
        assert "JIRA_USER" not in advice and "JIRA_PASSWORD" not in advice, advice
    assert "leave the user name empty at the prompt" in prompted[3]
    from_env = basic_disabled((10, 3, 12), "visor-bot", "JIRA_PASSWORD")
    assert "set JIRA_TOKEN to it and leave JIRA_USER unset" in from_env
    assert "JIRA_TOKEN" in cloud_api_token("JIRA_TOKEN")


def test_myself_schema_identifies_users_by_a_non_empty_name_or_account_id() -> None:
    from conformance.probes import api

    assert api.schema_problem("myself", {"name": "bot", "displayName": "B"}) is None
    cloud = {"name": "", "accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "B"}
    assert api.schema_problem("myself", cloud) is None
    assert api.schema_problem("myself", {"accountId": "abc", "displayName": "B"}) is None
    assert api.schema_problem("myself", {"name": "", "displayName": "B"}) is not None
    assert api.schema_problem("myself", {"accountId": "", "displayName": "B"}) is not None
    assert api.schema_problem("myself", {"displayName": "B"}) is not None
