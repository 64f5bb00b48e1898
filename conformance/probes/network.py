"""Reachability probes: DNS, TCP, proxy, TLS and "is this a running Jira", layer by layer.

These go below ``requests`` on purpose: a failing ``requests.get`` says little about *which*
layer broke, and the remedy for a refused port (start Jira) is not the remedy for a dropped
packet (open the firewall) or an untrusted certificate (``--jira-ca-bundle``).
"""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypedDict
from urllib.parse import urljoin, urlsplit

from conformance.classify import idp_host
from conformance.evidence import Evidence, Exchange, FailureFacts, Problem
from conformance.probes import account, api

if TYPE_CHECKING:
    from conformance.target import JiraTarget

# OpenSSL verify codes (x509_vfy.h) that name the reason a certificate was refused.
X509_EXPIRED = 10
X509_NOT_YET_VALID = 9
X509_HOSTNAME_MISMATCH = 62
X509_IP_MISMATCH = 64
JIRA_STATES = ("RUNNING", "STARTING", "STOPPING", "FIRST_RUN", "MAINTENANCE", "ERROR")
CONTEXT_PATH_CANDIDATES = ("/jira", "/jira-software", "/jirasoftware", "/issues")
MAX_REDIRECT_HOPS = 5


@dataclass(frozen=True)
class Endpoint:
    """Where this machine opens its TCP connection: Jira itself, or the proxy in front of it."""

    host: str
    port: int
    via_proxy: bool
    jira_host: str
    jira_port: int
    tls: bool


class ProxyFacts(TypedDict):
    proxy: str | None  # without credentials
    source: str  # the setting that chose it
    described: str


def proxy(target: JiraTarget) -> Evidence:
    """Which proxy (if any) the run's requests go through, and which setting chose it."""
    info = target.http.proxy
    facts: ProxyFacts = {"proxy": info.proxy, "source": info.source, "described": info.describe()}
    return Evidence("network.proxy", True, facts)


class RedirectsFacts(TypedDict, total=False):
    url: str
    hops: list[str]  # "STATUS -> Location"
    final_status: int | None
    final_url: str
    idp_host: str


def redirects(target: JiraTarget, path: str = "/status") -> Evidence:
    """Follow the redirects of ``path`` without credentials, one hop at a time (at most 5).

    Stops at the first answer that is not a redirect, or at a hop whose Location is an identity
    provider (which is then named, not asked). ``facts["hops"]`` lists each hop as
    "STATUS -> Location".
    """
    url = target.url + path
    own_host = urlsplit(target.url).hostname
    hops: list[str] = []
    exchanges: list[Exchange] = []
    facts: RedirectsFacts = {"url": url, "hops": hops}
    gateway: str | None = None  # a sign-in path on Jira's own host: the gateway, keep following
    for _ in range(MAX_REDIRECT_HOPS):
        result = target.http.get(url, credentialed=False)
        exchanges.append(result.exchange)
        location = result.header("Location") if result.response is not None else None
        status_code = result.status
        if result.failure is not None or status_code is None or not 300 <= status_code < 400:
            facts["final_status"] = status_code
            break
        if not location:
            hops.append(f"{status_code} without a Location")
            break
        url = urljoin(url, location)
        hops.append(f"{status_code} -> {_without_query(url)}")
        host = idp_host(url)
        if host is not None and host != own_host:
            facts["idp_host"] = host
            return Evidence("network.redirects", True, facts, exchanges)
        gateway = gateway or host
    facts["final_url"] = _without_query(url)
    if gateway is not None:
        facts["idp_host"] = gateway
    return Evidence("network.redirects", True, facts, exchanges, problem=None)


def _without_query(url: str) -> str:
    """Host and path say where a hop goes; the query (SAMLRequest, state...) is long and opaque."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url.split("?")[0]


def endpoint(target: JiraTarget) -> Endpoint:
    parts = urlsplit(target.url)
    tls = parts.scheme == "https"
    jira_port = parts.port or (443 if tls else 80)
    jira_host = parts.hostname or ""
    proxy = target.http.proxy.proxy
    if proxy:
        pparts = urlsplit(proxy)
        return Endpoint(pparts.hostname or "", pparts.port or 8080, True, jira_host, jira_port, tls)
    return Endpoint(jira_host, jira_port, False, jira_host, jira_port, tls)


class EndpointFacts(FailureFacts, total=False):
    """Where the socket-level probes connect (the proxy, if there is one, for DNS and TCP)."""

    host: str
    port: int
    via_proxy: bool


class DnsFacts(EndpointFacts, total=False):
    addresses: list[str]
    elapsed_ms: float


def dns(target: JiraTarget) -> Evidence:
    """Resolve the host this machine connects to, with the run's timeout (getaddrinfo has none)."""
    ep = endpoint(target)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(socket.getaddrinfo, ep.host, ep.port, type=socket.SOCK_STREAM)
    facts: DnsFacts = {"host": ep.host, "port": ep.port, "via_proxy": ep.via_proxy}
    try:
        infos = future.result(timeout=target.settings.timeout_s)
    except FutureTimeout:
        facts["error"] = f"no answer from the DNS resolver within {target.settings.timeout_s:g} s"
        return Evidence("network.dns", False, facts, problem=Problem.TIMEOUT)
    except (OSError, UnicodeError) as exc:
        facts["error"] = f"{type(exc).__name__}: {exc}"
        return Evidence("network.dns", False, facts, problem=Problem.UNRESOLVED)
    finally:
        pool.shutdown(wait=False)
    addresses = sorted({str(info[4][0]) for info in infos})
    facts["addresses"] = addresses
    facts["elapsed_ms"] = (time.monotonic() - started) * 1000
    return Evidence("network.dns", True, facts)


class TcpFacts(EndpointFacts, total=False):
    address: str  # the address that answered
    connect_ms: float
    attempts: list[str]  # "ADDRESS: why not", for the addresses that did not


def tcp(target: JiraTarget) -> Evidence:
    """Open a TCP connection to each resolved address until one answers."""
    ep = endpoint(target)
    resolved = target.probe(dns)
    facts: TcpFacts = {"host": ep.host, "port": ep.port, "via_proxy": ep.via_proxy}
    if not resolved.ok:
        return Evidence("network.tcp", False, facts, problem=Problem.DNS)
    attempts: list[str] = []
    problem = Problem.REFUSED
    for address in resolved.fact("addresses"):
        started = time.monotonic()
        try:
            with socket.create_connection((address, ep.port), timeout=target.settings.timeout_s):
                facts["address"] = address
                facts["connect_ms"] = (time.monotonic() - started) * 1000
                facts["attempts"] = attempts
                return Evidence("network.tcp", True, facts)
        except ConnectionRefusedError:
            attempts.append(f"{address}: connection refused")
        except TimeoutError:
            attempts.append(f"{address}: no answer within {target.settings.timeout_s:g} s")
            problem = Problem.TIMEOUT
        except OSError as exc:
            attempts.append(f"{address}: {exc.strerror or exc}")
            if problem != "timeout":
                problem = Problem.UNREACHABLE
    facts["attempts"] = attempts
    return Evidence("network.tcp", False, facts, problem=problem)


class CertificateFacts(TypedDict, total=False):
    subject: str
    issuer: str
    self_signed: bool
    names: list[str]  # DNS names and IP addresses of the subjectAltName
    not_after: str
    expired: bool


class TlsFacts(EndpointFacts, CertificateFacts, total=False):
    skipped: str
    tls_version: str | None
    proxy_status: int
    proxy_reason: str
    proxy: str | None
    verify_code: int
    verify_message: str


def tls(target: JiraTarget) -> Evidence:
    """Verify Jira's certificate as the HTTP layer will, and read it either way to explain."""
    ep = endpoint(target)
    facts: TlsFacts = {"host": ep.jira_host, "port": ep.jira_port, "via_proxy": ep.via_proxy}
    if not ep.tls:
        return Evidence("network.tls", True, {**facts, "skipped": "plain http"})
    verify_error: ssl.SSLCertVerificationError | None = None
    try:
        with (
            _open(target, ep) as raw,
            _verifying_context(target).wrap_socket(raw, server_hostname=ep.jira_host) as tls_sock,
        ):
            facts["tls_version"] = tls_sock.version()
            _read_certificate(tls_sock.getpeercert(binary_form=True), facts)
            return Evidence("network.tls", True, facts)
    except ProxyRefused as exc:
        facts["proxy_status"] = exc.status
        facts["proxy_reason"] = exc.reason
        facts["proxy"] = target.http.proxy.proxy
        return Evidence("network.tls", False, facts, problem=Problem.PROXY)
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc
    except (OSError, ssl.SSLError) as exc:
        facts["error"] = f"{type(exc).__name__}: {exc}"
        if "WRONG_VERSION_NUMBER" in str(exc).upper():  # the port speaks plain HTTP
            facts["failure"] = "tls_protocol"
            return Evidence("network.tls", False, facts, problem=Problem.PLAIN_HTTP)
        return Evidence("network.tls", False, facts, problem=Problem.HANDSHAKE)
    facts["verify_code"] = verify_error.verify_code
    facts["verify_message"] = verify_error.verify_message or str(verify_error)
    try:
        with (
            _open(target, ep) as raw,
            _inspecting_context().wrap_socket(raw, server_hostname=ep.jira_host) as s,
        ):
            _read_certificate(s.getpeercert(binary_form=True), facts)
    except (OSError, ssl.SSLError, ProxyRefused):
        pass
    code = verify_error.verify_code
    if code in (X509_EXPIRED, X509_NOT_YET_VALID):
        problem = Problem.EXPIRED
    elif code in (X509_HOSTNAME_MISMATCH, X509_IP_MISMATCH):
        problem = Problem.HOSTNAME
    else:
        problem = Problem.UNTRUSTED
    return Evidence("network.tls", False, facts, problem=problem)


class ProxyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def _open(target: JiraTarget, ep: Endpoint) -> socket.socket:
    """A TCP socket to Jira, through the proxy's CONNECT tunnel when there is one."""
    sock = socket.create_connection((ep.host, ep.port), timeout=target.settings.timeout_s)
    if not ep.via_proxy:
        return sock
    try:
        request = (
            f"CONNECT {ep.jira_host}:{ep.jira_port} HTTP/1.1\r\n"
            f"Host: {ep.jira_host}:{ep.jira_port}\r\n{_proxy_auth(target)}\r\n"
        )
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                wait = target.settings.timeout_s
                raise ProxyRefused(0, f"no answer to CONNECT within {wait:g} s") from None
            if not chunk:
                break
            head += chunk
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if status != 200:
            raise ProxyRefused(status, parts[2] if len(parts) > 2 else status_line or "no answer")
        return sock
    except BaseException:
        sock.close()
        raise


def _proxy_auth(target: JiraTarget) -> str:
    import base64
    import os

    env_proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
    parts = urlsplit(env_proxy)
    if parts.username:
        from urllib.parse import unquote

        token = base64.b64encode(
            f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        ).decode()
        return f"Proxy-Authorization: Basic {token}\r\n"
    return ""


def _verifying_context(target: JiraTarget) -> ssl.SSLContext:
    settings = target.settings
    if settings.system_trust:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    # The same trust the HTTP layer gets from requests: its CA-bundle variables, else certifi.
    import os

    import certifi

    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    )
    return ssl.create_default_context(cafile=bundle)


def _inspecting_context() -> ssl.SSLContext:
    """Reads a certificate without trusting it, only to describe it in the finding."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _read_certificate(der: bytes | None, facts: CertificateFacts) -> None:
    """Describe the certificate in ``facts`` (nothing when there is none)."""
    if not der:
        return
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)

    def name(value: x509.Name) -> str:
        common = value.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(common[0].value) if common else value.rfc4514_string()

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        names = []
    not_after = cert.not_valid_after_utc
    facts["subject"] = name(cert.subject)
    facts["issuer"] = name(cert.issuer)
    facts["self_signed"] = cert.issuer == cert.subject
    facts["names"] = names
    facts["not_after"] = not_after.strftime("%Y-%m-%d %H:%M UTC")
    facts["expired"] = not_after < datetime.now(UTC)


class StatusFacts(FailureFacts, total=False):
    url: str
    status: int | None
    elapsed_ms: float
    content_type: str
    state: str  # what /status says, e.g. "RUNNING"
    body_kind: Literal["json", "html", "other"]  # of an answer without a state


def status(target: JiraTarget, base: str | None = None) -> Evidence:
    """``GET /status``: the state Jira reports, not just the status code (STARTING answers 200)."""
    base = base or target.url
    result = target.http.get(f"{base}/status", credentialed=False)
    facts: StatusFacts = {
        "url": f"{base}/status",
        "status": result.status,
        "elapsed_ms": result.exchange.elapsed_ms,
    }
    if result.failure is not None:
        facts["failure"] = result.failure.kind
        facts["error"] = result.failure.detail
        return Evidence(
            "network.status", False, facts, [result.exchange], problem=Problem.TRANSPORT
        )
    body, error = result.json()
    facts["content_type"] = result.content_type
    if isinstance(body, dict) and isinstance(body.get("state"), str):
        facts["state"] = body["state"]
        ok = body["state"] == "RUNNING" and result.status == 200
        return Evidence(
            "network.status", ok, facts, [result.exchange], problem=None if ok else Problem.STATE
        )
    facts["body_kind"] = (
        "json" if error is None else ("html" if "html" in result.content_type else "other")
    )
    return Evidence("network.status", False, facts, [result.exchange], problem=Problem.NO_STATE)


class ServerinfoFacts(TypedDict, total=False):
    url: str
    status: int | None
    version: object  # as Jira's JSON had it
    deploymentType: object


def server_info_anonymous(target: JiraTarget, base: str | None = None) -> Evidence:
    """serverInfo without credentials: tells a Jira (older than 7.1 has no /status) from anything else."""
    base = base or target.url
    result = target.http.get(f"{base}/rest/api/2/serverInfo", credentialed=False)
    facts: ServerinfoFacts = {"url": f"{base}/rest/api/2/serverInfo", "status": result.status}
    body, _ = result.json()
    ok = result.status == 200 and isinstance(body, dict) and "versionNumbers" in body
    if ok:
        facts["version"] = body.get("version")
        facts["deploymentType"] = body.get("deploymentType")
    return Evidence("network.serverinfo", ok, facts, [result.exchange])


class ContextPathFacts(TypedDict, total=False):
    context_path: str  # where Jira answered, e.g. "/jira"
    suggested: str  # the URL to use instead
    state: str
    tried: list[str]


def context_path(target: JiraTarget) -> Evidence:
    """Look for Jira under a context path the URL lacks (https://host/ vs https://host/jira)."""
    base = target.url
    candidates: list[str] = []
    root = target.http.get(f"{base}/", credentialed=False)
    location = root.header("Location") if root.response is not None else None
    exchanges: list[Exchange] = [root.exchange]
    if location:
        path = urlsplit(location).path
        first = "/" + path.strip("/").split("/")[0] if path.strip("/") else ""
        if first and first not in ("/login.jsp", "/secure", "/rest"):
            candidates.append(first)
    candidates += [c for c in CONTEXT_PATH_CANDIDATES if c not in candidates]
    for candidate in candidates:
        evidence = target.probe(status, base + candidate)
        exchanges += evidence.exchanges
        if evidence.fact("state"):
            return Evidence(
                "network.context_path",
                True,
                {
                    "context_path": candidate,
                    "suggested": base + candidate,
                    "state": evidence.fact("state"),
                },
                exchanges,
            )
        info = target.probe(server_info_anonymous, base + candidate)
        exchanges += info.exchanges
        if info.ok:
            return Evidence(
                "network.context_path",
                True,
                {"context_path": candidate, "suggested": base + candidate},
                exchanges,
            )
    return Evidence("network.context_path", False, {"tried": candidates}, exchanges)


class RoundTripFacts(TypedDict, total=False):
    elapsed_ms: float  # of the fastest answered request
    samples: int  # how many answered requests it is the fastest of


def round_trip(target: JiraTarget) -> Evidence:
    """The fastest answer of the dependent chain (``/status``, serverInfo, ``/myself``): a fair
    measure of the network path to Jira, and the same however the rest of the run was fetched."""
    chain = (target.probe(status), target.probe(api.server_info), target.probe(account.myself))
    answered = [x.elapsed_ms for ev in chain for x in ev.exchanges if x.status is not None]
    if not answered:
        return Evidence("network.round_trip", False, {}, problem=Problem.NO_ANSWER)
    facts: RoundTripFacts = {"elapsed_ms": min(answered), "samples": len(answered)}
    return Evidence("network.round_trip", True, facts)
