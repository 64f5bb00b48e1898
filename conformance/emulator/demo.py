"""What ``--jira-demo SCENARIO`` needs to show a scenario's problem: credentials and profile."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoSetup:
    env: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    write_project: str | None = None
    description: str = ""


def demo_setup(scenario: str) -> DemoSetup:
    """The emulator's contract accounts, so that --jira-demo needs no set-up."""
    if scenario == "cloud":
        return DemoSetup({"JIRA_USER": "visor-bot@example.com", "JIRA_TOKEN": "visor-bot-token"})
    if scenario in ("dc-11.3", "basic-auth-disabled", "sso-redirect"):
        return DemoSetup({"JIRA_TOKEN": "visor-bot-token"})
    return DemoSetup({"JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"})
