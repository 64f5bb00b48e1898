"""The emulator's TLS, right and wrong: certificates made when the server starts (trustme, and
``cryptography`` where trustme has no knob), and the ways a real server's TLS fails.

``TLS_FAULTS``:

* ``tls1.0-only``: the server speaks TLS 1.0 and nothing newer (where the local OpenSSL can);
* ``sni-refused``: it answers ``unrecognized_name`` to any name but ``jira.internal.example``;
* ``handshake-reset`` / ``handshake-eof``: it reads the ClientHello, then resets the connection
  (or closes it) without a word, as a TLS-inspecting firewall or a dead backend does;
* ``long-chain``: its chain has more intermediates than OpenSSL verifies (depth 100);
* ``expired-intermediate``: its own certificate is valid, the intermediate above it expired;
* ``mutual``: it requires a client certificate from its own client CA (the emulator writes one
  the bot may present: ``client_cert_path``, ``client_key_path``).
"""

from __future__ import annotations

import contextlib
import datetime
import ssl
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from socket import SO_LINGER, SOL_SOCKET, socket
from typing import Any

TLS_FAULTS = (
    "tls1.0-only",
    "sni-refused",
    "handshake-reset",
    "handshake-eof",
    "long-chain",
    "expired-intermediate",
    "mutual",
)
# Faults that break the handshake before TLS starts: no context, a socket that is cut instead.
RAW_FAULTS = ("handshake-reset", "handshake-eof")
SNI_NAME = "jira.internal.example"
CHAIN_DEPTH = 101  # OpenSSL's default verify depth is 100


@dataclass
class ServerTls:
    """What the server presents, and the files a client needs to trust it (and to be trusted)."""

    context: ssl.SSLContext | None
    ca_path: Path
    client_cert_path: Path | None = None
    client_key_path: Path | None = None


def server_tls(fault: str | None, names: list[str], folder: Path) -> ServerTls:
    """The server's TLS for ``fault`` (None: a healthy certificate from a private CA)."""
    import trustme

    if fault is not None and fault not in TLS_FAULTS:
        raise ValueError(f"unknown TLS fault {fault!r}; known: {', '.join(TLS_FAULTS)}")
    ca_path = folder / "private-ca.pem"
    if fault == "expired-intermediate":
        return _expired_intermediate(names, folder, ca_path)
    ca = trustme.CA(
        organization_name="Visor Emulator Private CA",
        path_length=CHAIN_DEPTH + 5 if fault == "long-chain" else 9,
    )
    ca.cert_pem.write_to_path(str(ca_path))
    issuer = ca
    if fault == "long-chain":
        for _ in range(CHAIN_DEPTH):
            issuer = issuer.create_child_ca()
    cert = issuer.issue_cert(*names, *([SNI_NAME] if fault == "sni-refused" else []))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    found = ServerTls(None if fault in RAW_FAULTS else context, ca_path)
    if fault == "tls1.0-only":
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # deprecated: that is the point of this fault
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1
    elif fault == "sni-refused":
        context.sni_callback = _only_own_name
    elif fault == "mutual":
        client_ca = trustme.CA(organization_name="Visor Emulator Client CA")
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        client = client_ca.issue_cert("visor-bot-client@example.com", common_name="visor-bot")
        found.client_cert_path = folder / "client-cert.pem"
        found.client_key_path = folder / "client-key.pem"
        client.cert_chain_pems[0].write_to_path(str(found.client_cert_path))
        client.private_key_pem.write_to_path(str(found.client_key_path))
    return found


def _only_own_name(sock: Any, name: str | None, context: ssl.SSLContext) -> int | None:
    """A load balancer with one site: any other name (or none) gets ``unrecognized_name``."""
    return None if name == SNI_NAME else ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME


def cut_handshake(conn: socket, fault: str) -> None:
    """Read the ClientHello, then reset the connection (or close it cleanly, for the EOF)."""
    conn.settimeout(2)
    with contextlib.suppress(OSError):
        conn.recv(4096)
    if fault == "handshake-reset":
        conn.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _expired_intermediate(names: list[str], folder: Path, ca_path: Path) -> ServerTls:
    """A root (trustme), an intermediate that expired yesterday, and a server certificate from
    it valid for a year: built with ``cryptography``, as trustme sets no intermediate's dates."""
    import ipaddress

    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root = trustme.CA(organization_name="Visor Emulator Private CA")
    root.cert_pem.write_to_path(str(ca_path))
    root_cert = x509.load_pem_x509_certificate(root.cert_pem.bytes())
    root_key = serialization.load_pem_private_key(root.private_key_pem.bytes(), None)
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    middle_key = ec.generate_private_key(ec.SECP256R1())
    middle = (
        x509.CertificateBuilder()
        .subject_name(name("Visor Emulator Intermediate CA"))
        .issuer_name(root_cert.subject)
        .public_key(middle_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for entry in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt.append(x509.DNSName(entry))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(names[-1]))
        .issuer_name(middle.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(middle_key, hashes.SHA256())
    )
    chain_path, key_path = folder / "server-chain.pem", folder / "server-key.pem"
    chain_path.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + middle.public_bytes(serialization.Encoding.PEM)
    )
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain_path), str(key_path))
    return ServerTls(context, ca_path)
