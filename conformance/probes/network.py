"""Reachability probes: DNS, TCP, proxy, TLS and "is this a running Jira", layer by layer.

These go below ``requests`` on purpose: a failing ``requests.get`` says little about *which*
layer broke, and the remedy for a refused port (start Jira) is not the remedy for a dropped
packet (open the firewall) or an untrusted certificate (``--jira-ca-bundle``).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict
from urllib.parse import urljoin, urlsplit

from conformance.classify import Kind, idp_host
from conformance.evidence import AnyEvidence, Evidence, Exchange, FailureFacts, Problem
from conformance.findings import Diagnosis
from conformance.probes import account, api

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography import x509

    from conformance.target import JiraTarget

# OpenSSL verify codes (x509_vfy.h) that name the reason a certificate was refused.
X509_EXPIRED = 10
X509_NOT_YET_VALID = 9
X509_HOSTNAME_MISMATCH = 62
X509_IP_MISMATCH = 64
X509_CHAIN_TOO_LONG = 22
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


def proxy(target: JiraTarget) -> Evidence[ProxyFacts]:
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


def redirects(target: JiraTarget, path: str = "/status") -> Evidence[RedirectsFacts]:
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


AddressInfo = list[tuple[Any, Any, int, str, tuple[Any, ...]]]


def _getaddrinfo(host: str, port: int, timeout_s: float) -> AddressInfo:
    """``socket.getaddrinfo`` within ``timeout_s`` (it has no timeout of its own).

    It runs in a daemon thread, never a pool's: a resolver that never answers, or a Ctrl-C that
    lands while the lookup starts, must not keep the process from exiting (a pool's worker is
    joined at exit, and one left without its shutdown waits forever).
    """
    answer: list[AddressInfo] = []
    failed: list[BaseException] = []
    done = threading.Event()

    def resolve() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller, which raises it
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=resolve, name="dns", daemon=True).start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"getaddrinfo({host!r}) did not return within {timeout_s:g} s")
    if failed:
        raise failed[0]
    return answer[0]


def dns(target: JiraTarget) -> Evidence[DnsFacts]:
    """Resolve the host this machine connects to, with the run's timeout (getaddrinfo has none)."""
    ep = endpoint(target)
    started = time.monotonic()
    facts: DnsFacts = {"host": ep.host, "port": ep.port, "via_proxy": ep.via_proxy}
    try:
        infos = _getaddrinfo(ep.host, ep.port, target.settings.timeout_s)
    except TimeoutError:
        facts["error"] = f"no answer from the DNS resolver within {target.settings.timeout_s:g} s"
        return Evidence("network.dns", False, facts, problem=Problem.TIMEOUT)
    except (OSError, UnicodeError) as exc:
        facts["error"] = f"{type(exc).__name__}: {exc}"
        return Evidence("network.dns", False, facts, problem=Problem.UNRESOLVED)
    addresses = sorted({str(info[4][0]) for info in infos})
    facts["addresses"] = addresses
    facts["elapsed_ms"] = (time.monotonic() - started) * 1000
    return Evidence("network.dns", True, facts)


class TcpFacts(EndpointFacts, total=False):
    address: str  # the address that answered
    connect_ms: float
    attempts: list[str]  # "ADDRESS: why not", for the addresses that did not


def tcp(target: JiraTarget) -> Evidence[TcpFacts]:
    """Open a TCP connection to each resolved address until one answers."""
    ep = endpoint(target)
    resolved = target.probe(dns)
    facts: TcpFacts = {"host": ep.host, "port": ep.port, "via_proxy": ep.via_proxy}
    if not resolved.ok:
        return Evidence("network.tcp", False, facts, problem=Problem.DNS)
    attempts: list[str] = []
    problem = Problem.REFUSED
    for address in resolved.facts.get("addresses", []):
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
    offered: str  # the newest protocol the server agreed to, when older than accepted here
    certificate_requested: bool  # the server asked for a client certificate (mutual TLS)
    client_cert: str  # the subject of the certificate presented (--jira-client-cert)
    chain: list[ChainCertificate]  # what the server sent after its own certificate
    tunnel_answer: str  # what a proxy answered inside its tunnel instead of TLS


class ChainCertificate(TypedDict):
    subject: str
    not_after: str
    expired: bool


# OpenSSL's words for each way a handshake fails that is not a certificate's verification; the
# alert names are OpenSSL's constants, the same in every locale.
HANDSHAKE_SIGNS: tuple[tuple[Problem, tuple[str, ...]], ...] = (
    (Problem.PLAIN_HTTP, ("wrong_version_number", "wrong version number")),
    (Problem.SNI, ("unrecognized_name", "unrecognized name")),
    (
        Problem.TLS_VERSION,
        (
            "unsupported_protocol",
            "unsupported protocol",
            "alert_protocol_version",
            "alert protocol version",
            "no_protocols_available",
            "no protocols available",
            "version_too_low",
        ),
    ),
    (
        Problem.CLIENT_CERT,
        ("certificate_required", "certificate required", "peer did not return a certificate"),
    ),
    (Problem.CHAIN, ("excessive_message_size", "excessive message size", "chain too long")),
    (
        Problem.TLS_RESET,
        (
            "unexpected_eof",
            "unexpected eof",
            "eof occurred in violation of protocol",
            "connection reset",
            "connectionreseterror",
            "connection aborted",
            "errno 104",
        ),
    ),
)
# Alerts a server sends about the client certificate presented to it.
CLIENT_CERT_REFUSED = (
    "bad_certificate",
    "bad certificate",
    "unknown_ca",
    "unknown ca",
    "certificate_unknown",
    "certificate unknown",
    "certificate_expired",
)


def handshake_problem(error: str) -> Problem | None:
    """Which failure of the TLS handshake an error text names (OpenSSL's constants), if any."""
    lowered = error.lower()
    for problem, signs in HANDSHAKE_SIGNS:
        if any(sign in lowered for sign in signs):
            return problem
    return None


def tls(target: JiraTarget) -> Evidence[TlsFacts]:
    """Verify Jira's certificate as the HTTP layer will, and read it either way to explain.

    Each way the handshake fails gets its own problem, because each has its own fix: a port
    that speaks plain HTTP, a proxy that does inside its tunnel, a server that speaks only old
    TLS, refuses the name asked for (SNI), requires a client certificate, sends a chain too long
    or with an expired intermediate, or a connection cut during the handshake.
    """
    ep = endpoint(target)
    facts: TlsFacts = {"host": ep.jira_host, "port": ep.jira_port, "via_proxy": ep.via_proxy}
    if not ep.tls:
        facts["skipped"] = "plain http"
        return Evidence("network.tls", True, facts)
    watch = _HandshakeWatch()
    context = _verifying_context(target)
    watch.attach(context)
    if target.settings.client_cert is not None:
        facts["client_cert"] = _client_subject(target.settings.client_cert)
    try:
        with (
            _open(target, ep) as raw,
            context.wrap_socket(raw, server_hostname=ep.jira_host) as tls_sock,
        ):
            facts["tls_version"] = tls_sock.version()
            _read_certificate(tls_sock.getpeercert(binary_form=True), facts)
            if watch.certificate_requested:
                facts["certificate_requested"] = True
                # TLS 1.3 says "certificate required" only after the handshake: ask for /status.
                _first_answer(tls_sock, ep)
            return Evidence("network.tls", True, facts)
    except ProxyRefused as exc:
        facts["proxy_status"] = exc.status
        facts["proxy_reason"] = exc.reason
        facts["proxy"] = target.http.proxy.proxy
        return Evidence("network.tls", False, facts, problem=Problem.PROXY)
    except ssl.SSLCertVerificationError as exc:
        return _unverified(target, ep, exc, facts)
    except (OSError, ssl.SSLError) as exc:
        facts["error"] = f"{type(exc).__name__}: {exc}"
        if watch.certificate_requested:
            facts["certificate_requested"] = True
        return _handshake_failed(target, ep, facts, watch)


def _handshake_failed(
    target: JiraTarget, ep: Endpoint, facts: TlsFacts, watch: _HandshakeWatch
) -> Evidence[TlsFacts]:
    """A handshake that failed before any certificate was judged: which way, and what to know."""
    error = facts.get("error", "")
    problem = handshake_problem(error)
    lowered = error.lower()
    if watch.certificate_requested and (
        problem in (Problem.CLIENT_CERT, Problem.TLS_RESET, None)
        or "handshake failure" in lowered
        or any(sign in lowered for sign in CLIENT_CERT_REFUSED)
    ):
        problem = Problem.CLIENT_CERT
    if problem is Problem.PLAIN_HTTP:
        facts["failure"] = "tls_protocol"
        if ep.via_proxy:  # the proxy, not Jira's port, answered in plain HTTP
            facts["proxy"] = target.http.proxy.proxy
            facts["tunnel_answer"] = _tunnel_answer(target, ep)
            problem = Problem.PLAIN_TUNNEL
    elif problem is Problem.TLS_VERSION:
        facts["offered"] = _offered_version(target, ep)
    return Evidence("network.tls", False, facts, problem=problem or Problem.HANDSHAKE)


def _unverified(
    target: JiraTarget, ep: Endpoint, error: ssl.SSLCertVerificationError, facts: TlsFacts
) -> Evidence[TlsFacts]:
    """The certificate did not verify: read it (and its chain) without trust, to say why."""
    facts["verify_code"] = error.verify_code
    facts["verify_message"] = error.verify_message or str(error)
    try:
        with (
            _open(target, ep) as raw,
            _inspecting_context().wrap_socket(raw, server_hostname=ep.jira_host) as s,
        ):
            _read_certificate(s.getpeercert(binary_form=True), facts)
            facts["chain"] = _chain_after_leaf(s)
    except (OSError, ssl.SSLError, ProxyRefused):
        pass
    code = error.verify_code
    if code in (X509_EXPIRED, X509_NOT_YET_VALID):
        # The leaf still valid: the expired one is further up the chain.
        leaf_valid = facts.get("expired") is False and code == X509_EXPIRED
        expired_above = any(c["expired"] for c in facts.get("chain", []))
        problem = Problem.INTERMEDIATE_EXPIRED if leaf_valid and expired_above else Problem.EXPIRED
    elif code in (X509_HOSTNAME_MISMATCH, X509_IP_MISMATCH):
        problem = Problem.HOSTNAME
    elif code == X509_CHAIN_TOO_LONG:
        problem = Problem.CHAIN
    else:
        problem = Problem.UNTRUSTED
    return Evidence("network.tls", False, facts, problem=problem)


class _HandshakeWatch:
    """Notes, from the handshake's own messages, whether the server asked for a client
    certificate: the only sign of mutual TLS a TLS 1.2 handshake failure gives.

    Uses the SSL context's message callback (CPython's, private since 3.8: without it, mutual
    TLS is still named by TLS 1.3's ``certificate_required`` alert)."""

    def __init__(self) -> None:
        self.certificate_requested = False

    def attach(self, context: ssl.SSLContext) -> None:
        if hasattr(context, "_msg_callback"):
            context._msg_callback = self._seen

    def _seen(
        self,
        _conn: object,
        direction: str,
        _version: object,
        _content: object,
        msg_type: object,
        _data: object,
    ) -> None:
        if direction == "read" and getattr(msg_type, "name", "") == "CERTIFICATE_REQUEST":
            self.certificate_requested = True


def _first_answer(sock: ssl.SSLSocket, ep: Endpoint) -> None:
    """Ask for /status without credentials and read the first bytes: a server that requires a
    client certificate refuses here under TLS 1.3 (the handshake itself succeeded)."""
    request = f"HEAD /status HTTP/1.1\r\nHost: {ep.jira_host}\r\nConnection: close\r\n\r\n"
    sock.sendall(request.encode())
    sock.recv(1)


def _tunnel_answer(target: JiraTarget, ep: Endpoint) -> str:
    """What the proxy answers inside its tunnel to a plain request (no credentials): its status
    line and the headers that name it, for the finding. Empty when nothing readable came."""
    try:
        with _open(target, ep) as sock:
            sock.sendall(
                f"HEAD / HTTP/1.1\r\nHost: {ep.jira_host}\r\nConnection: close\r\n\r\n".encode()
            )
            head = _read_head(sock)
    except (OSError, ProxyRefused):
        return ""
    lines = head.decode("latin-1").split("\r\n")
    kept = [lines[0]] + [
        line for line in lines[1:] if line.split(":")[0].strip().lower() in ("server", "via")
    ]
    return "; ".join(line.strip() for line in kept if line.strip())[:200]


def _read_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 16384:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n\r\n", 1)[0]


def _offered_version(target: JiraTarget, ep: Endpoint) -> str:
    """The newest protocol the server agrees to when old ones are allowed (without trust, only to
    name it), or words that say it is older than TLS 1.2 when this OpenSSL cannot speak it."""
    context = _inspecting_context()
    try:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with (
            _open(target, ep) as raw,
            context.wrap_socket(raw, server_hostname=ep.jira_host) as s,
        ):
            version = s.version()
    except (OSError, ssl.SSLError, ValueError, ProxyRefused):
        version = None
    names = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "SSLv3": "SSL 3.0"}
    return names.get(version or "", version or "a protocol older than TLS 1.2")


def _chain_after_leaf(sock: ssl.SSLSocket) -> list[ChainCertificate]:
    """The certificates the server sent after its own (CPython's unverified chain, 3.10+)."""
    sslobj = getattr(sock, "_sslobj", None)
    chain = getattr(sslobj, "get_unverified_chain", None)
    if chain is None:
        return []
    from cryptography import x509

    found: list[ChainCertificate] = []
    for cert in (chain() or [])[1:]:
        parsed = x509.load_der_x509_certificate(cert.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
        not_after = parsed.not_valid_after_utc
        found.append(
            {
                "subject": _common_name(parsed.subject),
                "not_after": not_after.strftime("%Y-%m-%d %H:%M UTC"),
                "expired": not_after < datetime.now(UTC),
            }
        )
    return found


def _client_subject(path: Path) -> str:
    """The subject of the client certificate in ``path`` (for the finding), or its file name."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return path.name
    return _common_name(cert.subject)


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
    """The trust and the client certificate the HTTP layer uses, for the handshake here."""
    settings = target.settings
    context = _trust(target)
    if settings.client_cert is not None:
        key = str(settings.client_key) if settings.client_key is not None else None
        context.load_cert_chain(str(settings.client_cert), key)
    return context


def _trust(target: JiraTarget) -> ssl.SSLContext:
    settings = target.settings
    if settings.system_trust:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    # The same trust the HTTP layer gets from requests: a CA-bundle variable naming a file that
    # exists (the HTTP layer ignores one that does not, and says so), else certifi.
    import os

    import certifi

    named = (os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"))
    bundle = next((path for path in named if path and os.path.exists(path)), certifi.where())
    return ssl.create_default_context(cafile=bundle)


def _inspecting_context() -> ssl.SSLContext:
    """Reads a certificate without trusting it, only to describe it in the finding."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _common_name(value: x509.Name) -> str:
    """A certificate name as people say it: its CN, else the whole name."""
    from cryptography.x509.oid import NameOID

    common = value.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else value.rfc4514_string()


def _read_certificate(der: bytes | None, facts: CertificateFacts) -> None:
    """Describe the certificate in ``facts`` (nothing when there is none)."""
    if not der:
        return
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    name = _common_name
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
    diagnosis: Diagnosis  # an answer without a state, when the classifier names its sender


def status(target: JiraTarget, base: str | None = None) -> Evidence[StatusFacts]:
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
    verdict = api.judged_result(target, result, "/status")
    if verdict.kind == Kind.PROXY_ANSWER and verdict.diagnosis is not None:
        facts["diagnosis"] = verdict.diagnosis  # who answered instead of Jira
    return Evidence("network.status", False, facts, [result.exchange], problem=Problem.NO_STATE)


class ServerinfoFacts(TypedDict, total=False):
    url: str
    status: int | None
    version: object  # as Jira's JSON had it
    deploymentType: object


def server_info_anonymous(target: JiraTarget, base: str | None = None) -> Evidence[ServerinfoFacts]:
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


def context_path(target: JiraTarget) -> Evidence[ContextPathFacts]:
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
        found: ContextPathFacts = {"context_path": candidate, "suggested": base + candidate}
        state = evidence.facts.get("state")
        if state:
            found["state"] = state
            return Evidence("network.context_path", True, found, exchanges)
        info = target.probe(server_info_anonymous, base + candidate)
        exchanges += info.exchanges
        if info.ok:
            return Evidence("network.context_path", True, found, exchanges)
    tried: ContextPathFacts = {"tried": candidates}
    return Evidence("network.context_path", False, tried, exchanges)


class RoundTripFacts(TypedDict, total=False):
    elapsed_ms: float  # of the fastest answered request
    samples: int  # how many answered requests it is the fastest of


def round_trip(target: JiraTarget) -> Evidence[RoundTripFacts]:
    """The fastest answer of the dependent chain (``/status``, serverInfo, ``/myself``): a fair
    measure of the network path to Jira, and the same however the rest of the run was fetched."""
    chain: tuple[AnyEvidence, ...] = (
        target.probe(status),
        target.probe(api.server_info),
        target.probe(account.myself),
    )
    answered = [x.elapsed_ms for ev in chain for x in ev.exchanges if x.status is not None]
    if not answered:
        none: RoundTripFacts = {}
        return Evidence("network.round_trip", False, none, problem=Problem.NO_ANSWER)
    facts: RoundTripFacts = {"elapsed_ms": min(answered), "samples": len(answered)}
    return Evidence("network.round_trip", True, facts)
