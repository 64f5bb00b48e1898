"""Jira version facts: lines, LTS releases, end-of-support dates, and what each version changes.

The integration makes different choices on different Jira lines (which createmeta form, which
kind of token, which search endpoint, whether basic authentication is on by default). They are
written down once here, with their sources (``docs/jira-wire-facts.md`` §§2, 4, 5, 7), so
that the checks, the remediation texts and the report all agree.

Versions are tuples of ``versionNumbers`` from serverInfo, never derived from ``buildNumber``
(its encoding changed between lines: 805005 for 8.5.5, 10030019 for 10.3.19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

VersionNumbers = tuple[int, ...]

NEW_CREATEMETA_SINCE: VersionNumbers = (8, 4)  # createmeta/{project}/issuetypes (JRASERVER-69898)
OLD_CREATEMETA_REMOVED: VersionNumbers = (9, 0)  # old createmeta answers 404 (JRASERVER-74965)
PATS_SINCE: VersionNumbers = (8, 14)  # personal access tokens
NATIVE_BASIC_BLOCK_SINCE: VersionNumbers = (8, 16)  # "Allow basic authentication on API calls"
BASIC_OFF_BY_DEFAULT_SINCE: VersionNumbers = (11, 0)
SERVER_END_OF_SUPPORT = date(2024, 2, 15)  # Server (non-Data Center) licences
DC_ONLY_SINCE: VersionNumbers = (10, 0)  # no Server licences for 10.x and later

AUTHENTICATION_METHODS = "Administration > System > Authentication methods"
BASIC_AUTH_TOGGLE = '"Allow basic authentication on API calls"'


@dataclass(frozen=True)
class Line:
    """One feature line (major.minor) whose end of support is known."""

    major: int
    minor: int
    lts: bool
    ends: date
    confirmed: bool  # False: the date is inferred (release + 2 years), not from a primary source

    @property
    def label(self) -> str:
        kind = "LTS" if self.lts else "line"
        return f"Data Center {self.major}.{self.minor} {kind}"

    def ends_text(self) -> str:
        text = f"{self.ends:%d %b %Y}"
        return text if self.confirmed else f"about {self.ends:%b %Y}"


# Data Center lines and their end of support (docs/jira-wire-facts.md §7; lines marked
# unconfirmed are release date + 2 years, Atlassian's policy for feature and LTS releases).
LINES: tuple[Line, ...] = (
    Line(7, 6, True, date(2019, 11, 14), False),
    Line(7, 13, True, date(2020, 11, 28), False),
    Line(8, 5, True, date(2021, 11, 9), False),  # "8.5 reached EOL" when 8.20.1 shipped
    Line(8, 13, True, date(2022, 10, 8), False),
    Line(8, 20, True, date(2023, 11, 9), False),
    Line(9, 0, False, date(2024, 6, 20), True),
    Line(9, 4, True, date(2024, 11, 14), True),
    Line(9, 12, True, date(2025, 11, 28), True),
    Line(9, 17, False, date(2026, 6, 26), True),
    Line(10, 0, False, date(2026, 8, 22), True),
    Line(10, 3, True, date(2026, 12, 10), False),
)
# The last day any line of a major version is supported, for lines not listed above.
MAJOR_ENDS: dict[int, tuple[date, bool]] = {
    7: (date(2020, 11, 28), False),
    8: (date(2023, 11, 9), False),
    9: (date(2026, 6, 26), True),  # "the whole 9.x line is EOL on 26 June 2026"
}


@dataclass(frozen=True)
class JiraVersion:
    """What serverInfo says the instance is."""

    numbers: VersionNumbers
    deployment: str  # "Server" (self-managed, Data Center included) or "Cloud"
    text: str = ""  # serverInfo's own ``version`` string, for display

    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    @property
    def label(self) -> str:
        return self.text or label(self.numbers)

    def describe(self) -> str:
        return "Jira Cloud" if self.cloud else f"Jira {self.label} (self-managed)"


def label(numbers: Sequence[int]) -> str:
    return ".".join(str(n) for n in numbers)


def learn(server_info: Any) -> tuple[JiraVersion | None, str]:
    """(version, "") from a serverInfo body, or (None, why not). Only ``versionNumbers`` counts."""
    if not isinstance(server_info, dict):
        return None, "serverInfo did not answer a JSON object"
    numbers = server_info.get("versionNumbers")
    if numbers is None:
        shown = server_info.get("version")
        extra = f" (its version text is {shown!r})" if isinstance(shown, str) else ""
        return None, f"serverInfo carries no versionNumbers{extra}"
    if (
        not isinstance(numbers, list)
        or not numbers
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers)
    ):
        return None, f"serverInfo's versionNumbers {numbers!r} is not a list of whole numbers"
    deployment = server_info.get("deploymentType")
    if deployment not in ("Server", "Cloud", "DataCenter"):
        return None, f"serverInfo's deploymentType {deployment!r} is neither Server nor Cloud"
    text = server_info.get("version")
    return JiraVersion(
        tuple(numbers),
        "Cloud" if deployment == "Cloud" else "Server",
        text if isinstance(text, str) else "",
    ), ""


def at_least(numbers: Sequence[int] | None, since: VersionNumbers) -> bool:
    return numbers is not None and tuple(numbers[: len(since)]) >= since


def has_pats(numbers: Sequence[int] | None) -> bool:
    """Personal access tokens exist (Data Center 8.14+); unknown versions are given the benefit."""
    return numbers is None or at_least(numbers, PATS_SINCE)


# -- support ---------------------------------------------------------------------------------------


def supported(version: JiraVersion, server_range: str, cloud_supported: bool) -> tuple[bool, str]:
    """(is it supported, the supported range in words) by the integration profile."""
    if version.cloud:
        return cloud_supported, "Jira Cloud" if cloud_supported else "Jira Cloud is not supported"
    words = f"self-managed Jira {server_range}"
    try:
        spec = SpecifierSet(server_range)
        return Version(label(version.numbers)) in spec, words
    except (InvalidSpecifier, InvalidVersion):
        return False, words


@dataclass(frozen=True)
class EndOfSupport:
    line: str  # "Data Center 9.12 LTS"
    ends: str  # "28 Nov 2025" or "about Nov 2020"
    ended: bool
    server_note: str  # what changes if the licence is Server rather than Data Center


def end_of_support(version: JiraVersion, today: date) -> EndOfSupport | None:
    """When this version's line stops (or stopped) getting fixes; None for Cloud or when unknown."""
    if version.cloud or not version.numbers:
        return None
    major = version.numbers[0]
    minor = version.numbers[1] if len(version.numbers) > 1 else 0
    server_note = ""
    if not at_least(version.numbers, DC_ONLY_SINCE):
        server_note = (
            f"with a Server (not Data Center) licence, support already ended "
            f"{SERVER_END_OF_SUPPORT:%d %b %Y}"
        )
    for line in LINES:
        if (line.major, line.minor) == (major, minor):
            return EndOfSupport(line.label, line.ends_text(), line.ends < today, server_note)
    if major in MAJOR_ENDS:
        ends, confirmed = MAJOR_ENDS[major]
        text = f"{ends:%d %b %Y}" if confirmed else f"about {ends:%b %Y}"
        return EndOfSupport(
            f"Data Center {major}.{minor} (every {major}.x line)",
            f"no later than {text}",
            ends < today,
            server_note,
        )
    if major < min(MAJOR_ENDS):
        return EndOfSupport(f"Jira {major}.{minor}", "years ago", True, server_note)
    return None


# -- version-dependent choices ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    topic: str
    choice: str
    why: str

    def line(self) -> str:
        return f"{self.topic}: {self.choice} ({self.why})"


def createmeta_form(version: JiraVersion) -> Choice:
    paged = "GET /rest/api/2/issue/createmeta/{project}/issuetypes[/{issueTypeId}] (paged)"
    old = "GET /rest/api/2/issue/createmeta?projectKeys=…&expand=projects.issuetypes.fields"
    if version.cloud:
        return Choice("createmeta", paged, "Cloud deprecated the old createmeta form")
    if at_least(version.numbers, OLD_CREATEMETA_REMOVED):
        return Choice("createmeta", paged, "the old form was removed in 9.0 and answers 404")
    if at_least(version.numbers, NEW_CREATEMETA_SINCE):
        return Choice("createmeta", paged, "available from 8.4; the old form still works here")
    return Choice("createmeta", old, "the paged form arrived in 8.4")


def token_type(version: JiraVersion) -> Choice:
    if version.cloud:
        return Choice(
            "credentials",
            "e-mail address + API token, as basic authentication",
            "Cloud refuses passwords (since June 2019) and bearer tokens",
        )
    if has_pats(version.numbers):
        return Choice(
            "credentials",
            "personal access token, as 'Authorization: Bearer' (recommended)",
            "available from 8.14; not subject to the failed-login CAPTCHA",
        )
    return Choice(
        "credentials",
        "user name + password, as basic authentication",
        "personal access tokens arrive in 8.14",
    )


def search_endpoint(version: JiraVersion) -> str:
    """The search this suite checks on this deployment (Cloud removed v2's, CHANGE-2046)."""
    return "/rest/api/3/search/jql" if version.cloud else "/rest/api/2/search"


def search_choice(version: JiraVersion) -> Choice:
    if version.cloud:
        return Choice(
            "search",
            "GET /rest/api/3/search/jql (nextPageToken paging, no total)",
            "Cloud removed /rest/api/2/search (410 Gone, CHANGE-2046)",
        )
    return Choice("search", "GET /rest/api/2/search (startAt paging, total)", "Data Center")


def basic_auth_default(version: JiraVersion) -> Choice:
    if version.cloud:
        return Choice("basic authentication", "with API tokens only", "Jira Cloud")
    if at_least(version.numbers, BASIC_OFF_BY_DEFAULT_SINCE):
        return Choice(
            "basic authentication",
            "off by default",
            f"Jira 11 blocks it unless {BASIC_AUTH_TOGGLE} is on",
        )
    if at_least(version.numbers, NATIVE_BASIC_BLOCK_SINCE):
        return Choice(
            "basic authentication",
            "on by default",
            f"an administrator can block it natively from 8.16 ({AUTHENTICATION_METHODS})",
        )
    return Choice(
        "basic authentication",
        "on by default",
        "only the 'SSO for Atlassian Data Center' app can block it before 8.16",
    )


def choices(version: JiraVersion) -> list[Choice]:
    """The version-dependent wire choices (what this Jira offers), for the report and support."""
    return [
        createmeta_form(version),
        token_type(version),
        search_choice(version),
        basic_auth_default(version),
    ]


# -- which remediation fits the version (the words are in the catalogue, findings.py) -------------


def pat_as_password_advice(
    numbers: Sequence[int] | None,
) -> Literal["no_pat", "pat_as_password"]:
    """AUTH_WRONG_SCHEME's advice for a token sent as a password: before 8.14, the password."""
    return "no_pat" if numbers is not None and not has_pats(numbers) else "pat_as_password"


def basic_disabled_advice(
    numbers: Sequence[int] | None,
) -> Literal["sso_app", "token", "token_off_by_default"]:
    """AUTH_BASIC_DISABLED's advice: only an app blocks basic before 8.14; Jira 11 does by default."""
    if numbers is not None and not has_pats(numbers):
        return "sso_app"
    return "token_off_by_default" if at_least(numbers, BASIC_OFF_BY_DEFAULT_SINCE) else "token"


def shown(numbers: Sequence[int] | None) -> str:
    """The version as a finding names it: "8.5.0", or "this version" when it is not known."""
    return label(numbers) if numbers else "this version"
