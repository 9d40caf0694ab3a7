"""The site's database CA and PostgreSQL's server certificate (docs/database.md).

When Synapse (or a worker, or the backup job) reaches PostgreSQL on another host, the
link is TLS that the client verifies (libpq's sslmode=verify-full) against a CA that wmx
makes for the site. It lives beside secrets.yml, in `pki/` (0700, keys 0600, a
.gitignore that ignores everything in it), made with the `cryptography` package in this
process: no key ever passes through argv, a log or Ansible's output.

- `database-ca.key` / `database-ca.crt`: the CA (ECDSA P-256, ten years), made on first
  use and replaced only on purpose (`wmx secrets rotate database_ca`).
- `database.key` / `database.crt`: PostgreSQL's certificate for the database host's
  inventory name and address (what clients connect to). Reissued, with a new key, when
  those names change, when the CA is not its issuer any more, or when fewer than
  RENEW_BEFORE days are left; wmx says so, and the next deploy installs it.

Like secrets.yml, a key file readable by others, or half of a pair, is refused at load.
wmx makes pki/ and every file in it, so none of them is ever a symbolic link: one there
(to another site's pki/, to a file of the operator's) is refused in one line naming it,
never read (another site's CA and key would have gone to this site's hosts) nor written
through (`wmx render` had overwritten a linked database.key's target with a key).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wmx.errors import InputError
from wmx.site.placed import check_file_place, open_directory
from wmx.site.state_files import read_state
from wmx.site.topology import Topology
from wmx.site.yamlfile import locked, write_atomically

PKI_DIR = "pki"
# Its name for `wmx secrets rotate`.
DATABASE_CA = "database_ca"
CA_KEY = "database-ca.key"
CA_CERT = "database-ca.crt"
SERVER_KEY = "database.key"
SERVER_CERT = "database.crt"
GITIGNORE = ".gitignore"
CA_DAYS = 3650
SERVER_DAYS = 365
# A server certificate with fewer days left is reissued at the next load (render/deploy).
RENEW_BEFORE = dt.timedelta(days=30)
# A CA with fewer days left is refused: rotate it (the server certificate cannot outlive it).
CA_MIN_LEFT = dt.timedelta(days=60)
# What a refused link or FIFO in pki/ is told (wmx.site.placed's refusals).
PKI_PLACE = "pki/ holds the site's database CA and keys, which wmx makes and reads through no link"
# A PEM key or certificate is a few hundred bytes; a file far bigger is not one.
_MAX_PEM = 1 << 16
ROTATION_EFFECT = (
    "a new CA and a new PostgreSQL certificate: the next deploy installs the certificate "
    "on the database host and the CA on every host that connects to it, and restarts "
    "PostgreSQL and Synapse; until both sides have the new ones, new database connections "
    "from other hosts are refused (established ones continue)."
)


class PkiError(InputError):
    """pki/ is unsafe, broken or half there: one line, exit 2, no key material shown."""


@dataclass(frozen=True)
class DatabaseTls:
    """What the templates install: the CA (every client host), the certificate and its
    key (the database host). The key is hidden from repr."""

    ca_pem: str
    cert_pem: str
    key_pem: str
    names: tuple[str, ...]

    def __repr__(self) -> str:
        return f"DatabaseTls(names={self.names!r}, key=<hidden>)"

    __str__ = __repr__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _usage(*allowed: str) -> x509.KeyUsage:
    """KeyUsage with only `allowed` set."""
    return x509.KeyUsage(**{name: name in allowed for name in _USAGES})


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _as_printed(name: str) -> str:
    """`name` as certificate_names prints it from a certificate: an IP address normalised
    (IPv6 compressed, lower case), a DNS name as it is."""
    return str(_general_name(name).value)


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def make_ca(label: str, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new CA that may sign server certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"wmx database CA ({label})"[:64])])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage("key_cert_sign", "crl_sign"), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_server(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: Sequence[str],
    now: dt.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `names` (host names and addresses), with a new key."""
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + dt.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage("digital_signature", "key_agreement"), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ec_public(ca_cert)),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _ec_public(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise PkiError(f"{cert.subject.rfc4514_string()}: not an ECDSA certificate")
    return public


def certificate_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The subject alternative names of `cert`, as strings, in order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(getattr(n, "value", "")) for n in san)


def database_clients(topology: Topology) -> list[str]:
    """The addresses of the hosts that reach PostgreSQL over TCP (TLS): Synapse's hosts
    (main process, workers) other than the database host; the backup job runs on the
    homeserver host."""
    database = topology.the("database").name
    seen: dict[str, None] = {}
    for group in ("homeserver", "synapse_workers"):
        for host in topology.in_group(group):
            if host.name != database:
                seen[host.internal_address] = None
    return list(seen)


def database_names(topology: Topology) -> tuple[str, ...]:
    """The names PostgreSQL's certificate carries (the inventory name, and the internal
    address that clients connect to); empty when no host connects over TCP (no TLS
    needed)."""
    if not database_clients(topology):
        return ()
    host = topology.the("database")
    return tuple(dict.fromkeys((host.name, host.internal_address)))


# --- the files -----------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    """The bytes of a file of pki/, or a PkiError naming it. Read as wmx reads its own
    files in .wmx/ (wmx.site.state_files.read_state): pki/ and the file are no symbolic
    link (never followed, O_NOFOLLOW), no FIFO or device, and bounded."""
    site = path.parent.parent
    try:
        data = read_state(path, site, limit=_MAX_PEM)
    except InputError as exc:
        raise PkiError(str(exc)) from None
    if data is None:
        raise PkiError(f"{path}: missing")
    return data


def _private_file(path: Path) -> bytes:
    """A key's bytes (_read), refused when group or others may read the file."""
    data = _read(path)  # first: a link is refused as one, never followed to a mode
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise PkiError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if mode & 0o077:
        raise PkiError(
            f"{path}: readable by others (mode {mode & 0o777:04o}); run `chmod 600 {path}`"
        )
    return data


def _load_key(path: Path, advice: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(_private_file(path), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise PkiError(f"{path}: not a PEM private key without a passphrase; {advice}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path}: not an ECDSA key; {advice}")
    return key


def _load_cert(path: Path, advice: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_read(path))
    except ValueError:
        raise PkiError(f"{path}: not a PEM certificate; {advice}") from None


def _ca_advice(directory: Path) -> str:
    return (
        f"restore {directory} from where you keep the copy of secrets.yml, or make a new CA "
        "with `wmx secrets rotate database_ca` (it says what that breaks)"
    )


def _write_pair(
    directory: Path,
    key_name: str,
    cert_name: str,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
) -> None:
    # The key first: a crash between the two leaves a pair that does not match, which
    # the next load reissues (server) or refuses (CA, with advice).
    _write(directory / key_name, _key_pem(key), 0o600)
    _write(directory / cert_name, _cert_pem(cert), 0o644)


def _write(path: Path, text: str, mode: int) -> None:
    """Write a file of pki/ as wmx writes its own: never through a link (one there is
    refused, naming it), pki/ itself opened without following one."""
    write_atomically(
        path, text, mode, keep_mode=False, follow_links=False, purpose=PKI_PLACE, within=path.parent
    )


def _make_directory(root: Path) -> Path:
    """`root`/pki, made (0700) when missing; a PkiError naming it when it is a symbolic
    link (to another site's pki/, say) or anything but a directory."""
    directory = root / PKI_DIR
    try:
        os.close(open_directory(directory, PKI_PLACE, within=directory, make=0o700))
    except InputError as exc:
        raise PkiError(str(exc)) from None
    except OSError as exc:
        raise PkiError(f"{directory}: cannot be created ({exc.strerror or exc})") from None
    # Every file looked at before any is written: a link planted at the server key must
    # not be found only after a new CA was made beside it.
    for name in (CA_KEY, CA_CERT, SERVER_KEY, SERVER_CERT, GITIGNORE):
        try:
            check_file_place(directory / name, PKI_PLACE)
        except InputError as exc:
            raise PkiError(str(exc)) from None
    gitignore = directory / GITIGNORE
    if not os.path.lexists(gitignore):
        _write(gitignore, "# Keys of the site's database CA: never in git.\n*\n", 0o644)
    return directory


def _load_ca(
    directory: Path, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    advice = _ca_advice(directory)
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    for present, missing in ((key_path, cert_path), (cert_path, key_path)):
        # lexists: a link counts as there, and is refused as one when read
        if os.path.lexists(present) and not os.path.lexists(missing):
            raise PkiError(f"{missing}: missing (its pair {present.name} is there); {advice}")
    key, cert = _load_key(key_path, advice), _load_cert(cert_path, advice)
    if _public_bytes(key.public_key()) != _public_bytes(_ec_public(cert)):
        raise PkiError(f"{cert_path}: does not belong to {key_path.name}; {advice}")
    if cert.not_valid_after_utc - now < CA_MIN_LEFT:
        raise PkiError(
            f"{cert_path}: the database CA expires on {cert.not_valid_after_utc:%Y-%m-%d}; "
            "make a new one with `wmx secrets rotate database_ca`"
        )
    return key, cert


def _why_reissue(
    directory: Path, ca_cert: x509.Certificate, names: Sequence[str], now: dt.datetime
) -> str | None:
    """Why the server certificate must be (re)issued, or None when it is good."""
    key_path, cert_path = directory / SERVER_KEY, directory / SERVER_CERT
    if not os.path.lexists(key_path) or not os.path.lexists(cert_path):
        return "none yet"
    key = _load_key(key_path, "delete it and database.crt to issue a new pair")
    cert = _load_cert(cert_path, "delete it and database.key to issue a new pair")
    if _public_bytes(key.public_key()) != _public_bytes(_ec_public(cert)):
        return "its key does not match"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "another CA issued it"
    if certificate_names(cert) != tuple(names):
        return f"its names were {', '.join(certificate_names(cert))}"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


def database_tls(
    root: Path, names: Sequence[str], label: str, *, now: dt.datetime | None = None
) -> DatabaseTls:
    """The CA and PostgreSQL's certificate for `names`, kept in `root`/pki: the CA is made
    on first use, the certificate (re)issued when needed; each said on stderr."""
    if not names:
        raise ValueError("a server certificate needs at least one name")
    # Compared with the certificate's as it prints them: as written, "2001:DB8:0::11"
    # would never match "2001:db8::11" and reissue the pair at every load.
    names = tuple(_as_printed(n) for n in names)
    now = now or _now()
    said: list[str] = []
    directory = _make_directory(root)
    with locked(directory / CA_KEY):
        if not any(os.path.lexists(directory / name) for name in (CA_KEY, CA_CERT)):
            _write_pair(directory, CA_KEY, CA_CERT, *make_ca(label, now))
            said.append(
                f"made the site's database CA in {directory} (keep a copy with secrets.yml)"
            )
        ca_key, ca_cert = _load_ca(directory, now)
        reason = _why_reissue(directory, ca_cert, names, now)
        if reason is not None:
            _write_pair(
                directory, SERVER_KEY, SERVER_CERT, *issue_server(ca_key, ca_cert, names, now)
            )
            said.append(
                f"issued PostgreSQL's certificate for {', '.join(names)} ({reason}); "
                "`wmx deploy` installs it"
            )
    for line in said:
        print(f"wmx: {line}", file=sys.stderr)
    return DatabaseTls(
        ca_pem=_read(directory / CA_CERT).decode(),
        cert_pem=_read(directory / SERVER_CERT).decode(),
        key_pem=_private_file(directory / SERVER_KEY).decode(),
        names=tuple(names),
    )


def rotate_database_ca(root: Path, label: str, *, now: dt.datetime | None = None) -> None:
    """Replace the CA (and drop the server certificate: the next load issues one)."""
    now = now or _now()
    directory = _make_directory(root)
    with locked(directory / CA_KEY):
        _write_pair(directory, CA_KEY, CA_CERT, *make_ca(label, now))
        for name in (SERVER_CERT, SERVER_KEY):
            (directory / name).unlink(missing_ok=True)
