"""Version personalities: the wire differences between Jira lines that the suite must handle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Personality:
    """What one Jira line looks like on the wire.

    ``build_number`` follows each line's real encoding (805005 for 8.5.5, 10030019 for 10.3.19):
    clients must not derive the version from it, and neither does the emulator.
    """

    version: str
    deployment_type: str = "Server"
    pats: bool = True  # personal access tokens (8.14+)
    old_createmeta: bool = False  # /issue/createmeta (removed in 9.0)
    paged_createmeta: bool = True  # /issue/createmeta/{p}/issuetypes (8.4+)
    basic_auth_default: bool = True  # 11.x disables basic auth by default
    server_title: str = "Jira"

    @property
    def cloud(self) -> bool:
        """Cloud differs in auth, identity, search and permissions."""
        return self.deployment_type == "Cloud"

    @property
    def version_numbers(self) -> list[int]:
        """``versionNumbers`` as serverInfo reports it."""
        return [int(p) for p in self.version.split("-")[0].split(".")]

    @property
    def build_number(self) -> int:
        """The line's own build-number encoding."""
        major, minor, patch = self.version_numbers
        if self.cloud:
            return 100282
        if major >= 10:
            return major * 1_000_000 + minor * 10_000 + patch
        return major * 100_000 + minor * 1_000 + patch


PERSONALITIES: dict[str, Personality] = {
    "7.13": Personality("7.13.18", pats=False, old_createmeta=True, paged_createmeta=False),
    "8.20": Personality("8.20.30", old_createmeta=True),
    "9.12": Personality("9.12.15"),
    "10.3": Personality("10.3.12"),
    "11.3": Personality("11.3.12", basic_auth_default=False),
    "cloud": Personality(
        "1001.0.0-SNAPSHOT", deployment_type="Cloud", old_createmeta=True, paged_createmeta=True
    ),
}
