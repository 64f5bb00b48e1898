"""Which Jira this is, whether Visor supports it, and whether Atlassian still does.

The version comes from serverInfo's ``versionNumbers`` only (``buildNumber`` changed encoding
between lines). The choices the integration makes for this version are listed for support.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conformance import codes, versions
from conformance.check import Step, fail, note, requirement, show, warn
from conformance.probes import api
from conformance.target import JiraTarget


def known_version(jira: JiraTarget) -> versions.JiraVersion:
    version, reason = api.learned_version(jira)
    if version is None:
        fail(codes.VerUnknown(reason=reason, url=jira.url))
    return version


@requirement(
    "version.known",
    "Jira's version and deployment type",
    Step.VERSION,
    after=["api.server_info"],
)
def test_known(jira: JiraTarget) -> None:
    info = jira.probe(api.server_info)
    show(info)
    version = known_version(jira)
    build = (info.facts.get("body") or {}).get("buildNumber")
    note(
        f"{version.describe()}, versionNumbers {list(version.numbers)}"
        + (f", build {build} (not used to tell the version)" if build is not None else "")
    )
    for choice in versions.choices(version):
        note(choice.line())


@requirement(
    "version.supported",
    "Jira version against the profile's supported versions",
    Step.VERSION,
    after=["version.known"],
)
def test_supported(jira: JiraTarget) -> None:
    version = known_version(jira)
    profile = jira.profile
    ok, supported = versions.supported(version, profile.server_versions, profile.cloud_supported)
    note(f"supported by {profile.source}: {supported}")
    if not ok:
        fail(
            codes.VerUnsupported(
                version=version.label,
                deployment="Cloud" if version.cloud else "self-managed",
                supported=supported,
                profile=profile.name,
            )
        )


@requirement(
    "version.support_window",
    "Atlassian's support window for this Jira version",
    Step.VERSION,
    after=["version.known"],
)
def test_support_window(jira: JiraTarget) -> None:
    version = known_version(jira)
    if version.cloud:
        note("Jira Cloud is updated continuously by Atlassian: no end of support applies")
        return
    today = datetime.now(UTC).date()
    window = versions.end_of_support(version, today)
    if window is None:
        note(f"no end of support is known yet for Jira {version.label}")
        return
    if window.ended:
        server_note = f"; {window.server_note}" if window.server_note else ""
        warn(
            codes.VerEol(
                version=version.label,
                line=window.line,
                eol=window.ends,
                server_note=server_note,
            )
        )
        return
    note(f"{window.line} is supported until {window.ends}")
    if window.server_note:
        note(window.server_note)
