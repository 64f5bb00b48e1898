"""The emulator's contract accounts, as environments for ``run_suite``."""

BOT = {"JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"}
BOT_TOKEN = {"JIRA_TOKEN": "visor-bot-token"}
CLOUD_BOT = {"JIRA_USER": "visor-bot@example.com", "JIRA_TOKEN": "visor-bot-token"}
ADMIN = {"JIRA_USER": "admin", "JIRA_PASSWORD": "admin"}
