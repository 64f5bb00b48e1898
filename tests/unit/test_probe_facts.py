"""The probes' fact types tell the truth: what real probe runs set is what the TypedDicts declare.

mypy checks the keys where facts are built; this checks what comes out at run time, against the
bundled emulator, so that a key set through an untyped path (a helper taking ``Any``, a spread
dict) fails here. A probe named ``AREA.NAME`` declares ``conformance.probes.AREA.<Name>Facts``
(``conformance.probes.facts_type``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from importlib import resources
from typing import Any, is_typeddict

import pytest

from conformance.emulator import EmulatorServer, Fault
from conformance.evidence import Evidence
from conformance.probes import account, api, facts_of, facts_type, network, permissions, projects
from conformance.probes import search as search_probes
from conformance.probes.write import WriteRoundTrip
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

BOT = Credentials("visor-bot", Secret("visor-bot-password"), "basic", "password", "test")
CLOUD_BOT = Credentials(
    "visor-bot@example.com", Secret("visor-bot-token"), "basic", "token", "test"
)
# Scenarios and faults that between them take the probes down their success and failure paths.
RUNS: dict[str, dict[str, Any]] = {
    "dc-healthy": {},
    "cloud": {},
    "mixed-permissions": {},
    "context-path": {},
    "not-running": {},
    "captcha": {},
    "sso-redirect": {},
    "read-only-bot": {},
    "no-project-access": {},
    "tls-self-signed": {"tls": True},
    "tls-expired-intermediate": {},
    "mutual-tls": {},
    "tls-1.0-only": {},
    "dc-healthy, no answers": {"faults": [Fault("*", r"^/rest/api/2/(?!serverInfo)", drop=True)]},
    "dc-healthy, refusals": {"faults": [Fault("*", r"^/rest/api/2/(?!serverInfo)", status=500)]},
}


def target_for(server: EmulatorServer, cloud: bool) -> JiraTarget:
    credentials = CLOUD_BOT if cloud else BOT
    settings = Settings(
        url=server.url,
        credentials=credentials,
        write_project="VIS",
        ca_bundle=server.ca_path,
        timeout_s=2.0,
    )
    redactor = Redactor()
    redactor.register(credentials.secret)
    return JiraTarget(settings, redactor, load_profile("visor-two-way"))


def every_probe(target: JiraTarget) -> Iterator[Evidence[Any]]:
    """Each probe once, in the order of a run, the project probes for the visible projects."""
    for probe in (
        network.proxy,
        network.redirects,
        network.dns,
        network.tcp,
        network.tls,
        network.status,
        network.server_info_anonymous,
        network.context_path,
        api.server_info,
        account.myself,
        account.admin_rights,
        projects.visible_projects,
    ):
        yield target.probe(probe)
    yield api.search(target, "/rest/api/2/search")
    yield api.search(target, "/rest/api/3/search/jql")
    keys = target.probe(projects.visible_projects).facts.get("keys") or ["VIS"]
    for key in keys[:3]:
        yield target.probe(permissions.survey, key)
        for project_probe in (
            permissions.project_permissions,
            permissions.permission_scheme,
            permissions.create_metadata,
            permissions.edit_metadata,
        ):
            yield target.probe(project_probe, key)
        yield permissions._first_issue(target, f"project = {key} ORDER BY key DESC")
        yield target.probe(search_probes.import_sample, key)
    yield WriteRoundTrip(target, "VIS").run()
    me = target.probe(account.myself)
    yield account.rejection(target, me)
    yield account.identity_headers(target, me, target.probe(account.admin_rights))
    yield network.round_trip(target)
    yield search_probes.rate_limit(target)


def undeclared(evidence: Evidence[Any]) -> tuple[set[str], set[str]]:
    """(keys set but not declared, required keys not set) of one evidence's facts."""
    declared: Any = facts_type(evidence.probe)
    keys = set(evidence.facts)
    return keys - declared.__required_keys__ - declared.__optional_keys__, (
        declared.__required_keys__ - keys
    )


@pytest.mark.parametrize("run", list(RUNS))
def test_real_runs_set_only_declared_facts(run: str) -> None:
    scenario = run.split(",")[0]
    server = EmulatorServer(scenario, **RUNS[run]).start()
    target = target_for(server, cloud=scenario == "cloud")
    try:
        produced = list(every_probe(target))
    finally:
        target.close()
        server.stop()
    wrong = {
        f"{e.probe}: {sorted(extra)} set but not declared, {sorted(missing)} required but unset"
        for e in produced
        for extra, missing in [undeclared(e)]
        if extra or missing
    }
    assert not wrong, "\n".join(sorted(wrong))


def probe_names_in_source() -> set[str]:
    """Every probe name a probe module builds evidence with: ``Evidence("name", ...)``, and
    ``_failed("name", ...)`` which does it for them."""
    names = set()
    for module in resources.files("conformance.probes").iterdir():
        if not module.name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            called = node.func.id if isinstance(node.func, ast.Name) else None
            first = node.args[0]
            if called in ("Evidence", "_failed") and isinstance(first, ast.Constant):
                names.add(str(first.value))
    return names


def test_every_probe_declares_its_facts_where_it_lives() -> None:
    names = probe_names_in_source()
    assert len(names) >= 25, names
    for name in names:
        declared = facts_type(name)
        assert is_typeddict(declared), name
        assert declared.__module__ == f"conformance.probes.{name.partition('.')[0]}", name


def test_a_check_reads_facts_only_as_the_type_their_probe_declares() -> None:
    evidence = Evidence("network.tls", True, {"host": "jira.example"})
    assert facts_of(evidence, network.TlsFacts)["host"] == "jira.example"
    with pytest.raises(TypeError, match="are not DnsFacts"):
        facts_of(evidence, network.DnsFacts)
