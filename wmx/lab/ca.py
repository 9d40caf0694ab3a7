"""The lab CA, and the TLS certificate it signs for pebble's listeners.

Pebble's ACME and management endpoints need a server certificate that clients (certbot on
the hosts, tests on the machine) can verify; a long-lived lab CA signs it, and every host
and test client trusts that CA. The CA that signs *issued* certificates is pebble's own,
regenerated each time pebble starts; see acme.py for how it joins the trust bundle.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wmx.lab import sshkeys
from wmx.lab.addressing import ACME_NAME, GATEWAY
from wmx.lab.paths import LabPaths

CA_COMMON_NAME = "wmx lab CA"
CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=825)
# Renew the server certificate well before it expires, so a long-lived lab never breaks.
SERVER_RENEW_BEFORE = datetime.timedelta(days=60)


def ensure_ca(key_path: Path, cert_path: Path) -> bool:
    """Create the lab CA once; True if it was created now."""
    key_path.parent.mkdir(parents=True, exist_ok=True)
    # Readable directory: trust.pem lives here for clients of any user; keys are 0600.
    os.chmod(key_path.parent, 0o755)
    if key_path.exists() and cert_path.exists():
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wmx lab"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def ensure_server_cert(
    ca_key_path: Path,
    ca_cert_path: Path,
    key_path: Path,
    cert_path: Path,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
) -> bool:
    """Issue (or re-issue) a server certificate; True if a new one was written.

    Re-issued when missing, close to expiry, signed by another CA (the CA was purged and
    recreated), or when the wanted names changed.
    """
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    wanted_dns = sorted(dns_names)
    wanted_ips = sorted(ipaddress.ip_address(a) for a in ip_addresses)
    if key_path.exists() and cert_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        fresh = current.not_valid_after_utc - _now() > SERVER_RENEW_BEFORE
        same_issuer = current.issuer == ca_cert.subject
        same_names = (
            sorted(san.get_values_for_type(x509.DNSName)) == wanted_dns
            and sorted(san.get_values_for_type(x509.IPAddress)) == wanted_ips
        )
        if fresh and same_issuer and same_names:
            return False
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not the lab CA's EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in wanted_dns]
    alt_names += [x509.IPAddress(a) for a in wanted_ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted_dns[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create with 0600 from the start: a key must never exist world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(pem)
    os.chmod(path, 0o600)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def ensure_lab_identity(paths: LabPaths) -> None:
    """The lab's SSH client key, its CA, and the certificate of pebble's listeners."""
    sshkeys.ensure_client_key(paths.ssh_key)
    ensure_ca(paths.ca_key, paths.ca_cert)
    ensure_server_cert(
        paths.ca_key,
        paths.ca_cert,
        paths.pebble_tls_key,
        paths.pebble_tls_cert,
        dns_names=[ACME_NAME, "localhost"],
        ip_addresses=[str(GATEWAY), "127.0.0.1"],
    )
