"""visor-jira-conformance: is this Jira ready for Visor, and if not, what exactly must change."""

__version__ = "0.1.0"
