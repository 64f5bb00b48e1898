"""Reachability, layer by layer, against real sockets: each situation gives its own finding.

Each run is the whole run of the checks in this process (``tests.runs.run_checks``); what only
the suite's process shows (the report file, the terminal, exit 4 on stderr) is in
tests/e2e/test_wiring.py."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import certifi
import pytest
import trustme

from conformance.evidence import Problem
from conformance.probes import network
from tests.runs import run_checks, target_for
from tests.servers import (
    black_hole,
    closed_port,
    not_jira,
    proxy_requiring_auth,
    serve,
    tiny_jira,
    tls_context,
)

LAYERS = ("reachability.dns", "reachability.tcp", "reachability.tls", "reachability.jira")


def test_unresolvable_host_is_net_dns_and_blocks_the_rest() -> None:
    run = run_checks("https://jira.visor-conformance.invalid")
    assert run.ret == 1
    assert run.outcome("reachability.dns") == "fail"
    assert run.codes("reachability.dns") == {"NET_DNS"}
    for check in ("reachability.tcp", "reachability.tls", "reachability.jira"):
        assert run.outcome(check) == "blocked"
        assert run.row(check)["blocked_by"] == "reachability.dns"
    assert run.result["verdict"] == "not-ready"
    assert "NOT READY" in run.terminal.splitlines()[-1]


def test_a_resolver_that_hangs_is_net_dns_within_the_timeout_and_never_holds_the_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getaddrinfo has no timeout of its own. The probe stops waiting at the run's timeout, and
    the resolution still hanging cannot keep the process from exiting (a daemon thread: a pool
    worker would be joined at exit, and one started just as a Ctrl-C landed, forever)."""
    released = threading.Event()

    def hanging(*_args: object, **_kwargs: object) -> list[object]:
        released.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    target = target_for("https://jira.example.com", timeout="0.5")
    try:
        evidence = network.dns(target)
        resolving = [t for t in threading.enumerate() if t.name == "dns" and t.is_alive()]
    finally:
        released.set()
        target.close()
    assert evidence.problem is Problem.TIMEOUT
    assert "within 0.5 s" in str(evidence.facts.get("error"))
    assert resolving and all(t.daemon for t in resolving)


def test_closed_port_is_net_refused() -> None:
    with closed_port() as port:
        run = run_checks(f"http://127.0.0.1:{port}")
    assert run.ret == 1
    assert run.codes("reachability.tcp") == {"NET_REFUSED"}
    assert "port is wrong or Jira" in run.row("reachability.tcp")["findings"][0]["remediation"]


def test_silent_listener_is_net_timeout_within_the_timeout() -> None:
    with black_hole() as port:
        run = run_checks(f"http://127.0.0.1:{port}", timeout="1")
    assert run.ret == 1
    # Issue 12: the listener accepted the connection, so this is a read timeout, and firewall
    # advice belongs to connect timeouts only.
    assert run.codes("reachability.jira") == {"NET_READ_TIMEOUT"}
    found = run.row("reachability.jira")["findings"][0]
    assert "not a firewall" in found["remediation"] and "1 s" in found["summary"]
    # Bounded: every request the run sent gave up at the 1 s timeout, and none was sent again.
    sent = [x for row in run.run.rows for ev in row.evidence for x in ev.exchanges]
    assert sent and all("within 1 s" in (x.error or "") for x in sent), sent
    assert run.result["http"]["requests"] == len({x.url for x in sent})


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_untrusted_certificate_names_the_issuer_and_the_ca_bundle_remedy(ca: trustme.CA) -> None:
    with serve(tiny_jira(), ssl_context=tls_context(ca, "127.0.0.1")) as url:
        run = run_checks(url)
    assert run.codes("reachability.tls") == {"NET_TLS_UNTRUSTED"}
    found = run.row("reachability.tls")["findings"][0]
    assert "--jira-ca-bundle" in found["remediation"]
    assert "Testing CA" in found["summary"]  # trustme's CA name: the issuer is named
    assert run.outcome("reachability.jira") == "blocked"


def test_certificate_trusted_through_ca_bundle_passes(ca: trustme.CA, ca_file: Path) -> None:
    with serve(tiny_jira(), ssl_context=tls_context(ca, "127.0.0.1")) as url:
        run = run_checks(url, ca_bundle=ca_file)
    for check in (*LAYERS, "reachability.url"):
        assert run.outcome(check) == "pass", run.outcomes()


def test_certificate_for_another_name_is_net_tls_hostname(ca: trustme.CA, ca_file: Path) -> None:
    with serve(tiny_jira(), ssl_context=tls_context(ca, "jira.example.com")) as url:
        run = run_checks(url, ca_bundle=ca_file)
    assert run.codes("reachability.tls") == {"NET_TLS_HOSTNAME"}
    assert "jira.example.com" in run.row("reachability.tls")["findings"][0]["remediation"]


def test_expired_certificate_is_net_tls_expired(ca: trustme.CA, ca_file: Path) -> None:
    with serve(tiny_jira(), ssl_context=tls_context(ca, "127.0.0.1", expired=True)) as url:
        run = run_checks(url, ca_bundle=ca_file)
    assert run.codes("reachability.tls") == {"NET_TLS_EXPIRED"}


def test_proxy_answering_407_is_net_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with proxy_requiring_auth() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        run = run_checks("https://jira.example.test")
    assert run.codes("reachability.tls") == {"NET_PROXY"}
    finding = run.row("reachability.tls")["findings"][0]
    assert "407" in finding["summary"] and "NO_PROXY" in finding["remediation"]
    assert proxy.split("//")[1] in run.result["run"]["proxy"]


def test_no_proxy_bypass_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    with proxy_requiring_auth() as proxy, serve(tiny_jira()) as url:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        run = run_checks(url)
    assert run.outcome("reachability.jira") == "pass"
    assert "NO_PROXY" in run.result["run"]["proxy"]


def test_starting_jira_is_net_not_running() -> None:
    with serve(tiny_jira(state="STARTING")) as url:
        run = run_checks(url)
    assert run.codes("reachability.jira") == {"NET_NOT_RUNNING"}
    assert "STARTING" in run.row("reachability.jira")["findings"][0]["summary"]


def test_missing_context_path_is_discovered_and_suggested() -> None:
    with serve(tiny_jira(context_path="/jira")) as url:
        run = run_checks(url)
        assert run.codes("reachability.jira") == {"NET_CONTEXT_PATH"}
        assert (
            f"--jira-url {url}/jira" in run.row("reachability.jira")["findings"][0]["remediation"]
        )
        fixed = run_checks(url + "/jira")
    assert fixed.outcome("reachability.jira") == "pass"


def test_something_else_answering_is_net_not_jira() -> None:
    with serve(not_jira()) as url:
        run = run_checks(url)
    assert run.codes("reachability.jira") == {"NET_NOT_JIRA"}


def test_system_trust_store_option_uses_the_operating_system_store(
    ca: trustme.CA, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Linux the system store is OpenSSL's default verify paths, which SSL_CERT_FILE names.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with serve(tiny_jira(), ssl_context=tls_context(ca, "127.0.0.1")) as url:
        trusted = run_checks(url, system_trust=True)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
        untrusted = run_checks(url)
    assert trusted.outcome("reachability.tls") == "pass", trusted.outcomes()
    assert trusted.outcome("reachability.jira") == "pass"
    assert untrusted.codes("reachability.tls") == {"NET_TLS_UNTRUSTED"}
