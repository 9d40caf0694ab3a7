"""The site's database CA and PostgreSQL's certificate (wmx/site/pki.py): what they are,
where they are kept, when the certificate is reissued, what is refused at load, and how
the render puts each part where it belongs. A real PostgreSQL serving the certificate to
libpq is tests/integration/test_database_tls.py."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.cli import app
from wmx.render import render_site, write_build
from wmx.resources import data_dir
from wmx.site.pki import (
    CA_CERT,
    CA_KEY,
    PKI_DIR,
    RENEW_BEFORE,
    SERVER_CERT,
    SERVER_KEY,
    PkiError,
    certificate_names,
    database_names,
    database_tls,
    rotate_database_ca,
)
from wmx.site.secrets import Secrets, write_secrets
from wmx.site.topology import HostView, Topology

NAMES = ("db1", "10.0.0.11")


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_the_ca_signs_a_server_certificate_for_the_hosts_names(tmp_path: Path) -> None:
    tls = database_tls(tmp_path, NAMES, "example.test")
    ca, server = _cert(tls.ca_pem), _cert(tls.cert_pem)
    server.verify_directly_issued_by(ca)  # raises unless the CA signed it
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    # The address as an IP address entry: libpq's verify-full matches it as one.
    assert san.get_values_for_type(x509.DNSName) == ["db1"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.11")]
    assert server.not_valid_after_utc <= ca.not_valid_after_utc
    assert "PRIVATE KEY" in tls.key_pem and "PRIVATE KEY" not in repr(tls)


def test_files_are_private_and_ignored_by_git(tmp_path: Path) -> None:
    database_tls(tmp_path, NAMES, "example.test")
    directory = tmp_path / PKI_DIR
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / CA_KEY).stat().st_mode & 0o777 == 0o600
    assert (directory / SERVER_KEY).stat().st_mode & 0o777 == 0o600
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_good_certificate_is_kept_and_nothing_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = database_tls(tmp_path, NAMES, "example.test")
    assert "made the site's database CA" in capsys.readouterr().err
    again = database_tls(tmp_path, NAMES, "example.test")
    assert again == first
    assert capsys.readouterr().err == ""


def test_new_names_reissue_the_certificate_with_a_new_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = database_tls(tmp_path, NAMES, "example.test")
    moved = database_tls(tmp_path, ("db1", "10.0.0.21"), "example.test")
    assert certificate_names(_cert(moved.cert_pem)) == ("db1", "10.0.0.21")
    assert moved.key_pem != first.key_pem and moved.ca_pem == first.ca_pem
    assert "its names were db1, 10.0.0.11" in capsys.readouterr().err


def test_an_address_written_another_way_is_not_a_new_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The certificate prints an IPv6 address compressed and in lower case: compared as
    written, the pair was reissued (and PostgreSQL restarted) at every load."""
    names = ("db1", "2001:DB8:0::11")
    first = database_tls(tmp_path, names, "example.test")
    assert capsys.readouterr().err.count("issued PostgreSQL's certificate") == 1
    again = database_tls(tmp_path, names, "example.test")
    assert capsys.readouterr().err == ""
    assert again.key_pem == first.key_pem and again.cert_pem == first.cert_pem
    assert again.names == ("db1", "2001:db8::11")
    assert certificate_names(_cert(again.cert_pem)) == ("db1", "2001:db8::11")


def test_a_certificate_near_its_end_is_reissued(tmp_path: Path) -> None:
    first = database_tls(tmp_path, NAMES, "example.test")
    end = _cert(first.cert_pem).not_valid_after_utc
    # A load on a day inside the renewal window (`now` given: no wall clock involved).
    later = database_tls(tmp_path, NAMES, "example.test", now=end - RENEW_BEFORE / 2)
    assert later.cert_pem != first.cert_pem
    assert _cert(later.cert_pem).not_valid_after_utc > end
    # A day before the window keeps it.
    kept = database_tls(tmp_path, NAMES, "example.test", now=end - RENEW_BEFORE * 2)
    assert kept == later


def test_rotating_the_ca_reissues_the_certificate_under_the_new_one(tmp_path: Path) -> None:
    old = database_tls(tmp_path, NAMES, "example.test")
    rotate_database_ca(tmp_path, "example.test")
    new = database_tls(tmp_path, NAMES, "example.test")
    assert new.ca_pem != old.ca_pem
    _cert(new.cert_pem).verify_directly_issued_by(_cert(new.ca_pem))
    with pytest.raises(InvalidSignature):  # the old certificate is not the new CA's
        _cert(old.cert_pem).verify_directly_issued_by(_cert(new.ca_pem))


def test_a_certificate_of_another_ca_is_replaced(tmp_path: Path) -> None:
    database_tls(tmp_path, NAMES, "example.test")
    other = tmp_path / "other"
    other.mkdir()
    foreign = database_tls(other, NAMES, "example.test")
    (tmp_path / PKI_DIR / SERVER_CERT).write_text(foreign.cert_pem)
    (tmp_path / PKI_DIR / SERVER_KEY).write_text(foreign.key_pem)
    mine = database_tls(tmp_path, NAMES, "example.test")
    assert mine.cert_pem != foreign.cert_pem
    _cert(mine.cert_pem).verify_directly_issued_by(_cert(mine.ca_pem))


def test_an_open_key_file_is_refused(tmp_path: Path) -> None:
    database_tls(tmp_path, NAMES, "example.test")
    (tmp_path / PKI_DIR / CA_KEY).chmod(0o644)
    with pytest.raises(PkiError, match=r"readable by others \(mode 0644\); run `chmod 600"):
        database_tls(tmp_path, NAMES, "example.test")


def test_half_a_ca_is_refused_never_replaced(tmp_path: Path) -> None:
    database_tls(tmp_path, NAMES, "example.test")
    (tmp_path / PKI_DIR / CA_CERT).unlink()
    with pytest.raises(PkiError, match=r"database-ca\.crt: missing .*rotate database_ca"):
        database_tls(tmp_path, NAMES, "example.test")


def test_a_broken_ca_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    database_tls(tmp_path, NAMES, "example.test")
    key = tmp_path / PKI_DIR / CA_KEY
    key.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n")
    with pytest.raises(PkiError) as caught:
        database_tls(tmp_path, NAMES, "example.test")
    assert "not a PEM private key" in str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)


def test_a_key_wmx_cannot_read_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key of another owner (wmx run as another user): it cannot be opened."""
    database_tls(tmp_path, NAMES, "example.test")
    key = tmp_path / PKI_DIR / CA_KEY
    real = os.open

    def refusing_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path) == str(key):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(PkiError, match=r"database-ca\.key: cannot be read \(Permission denied\)"):
        database_tls(tmp_path, NAMES, "example.test")


def test_a_key_of_an_algorithm_the_backend_lacks_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_tls(tmp_path, NAMES, "example.test")

    def unsupported(data: bytes, password: bytes | None) -> object:
        raise UnsupportedAlgorithm("no such curve")

    monkeypatch.setattr(serialization, "load_pem_private_key", unsupported)
    with pytest.raises(PkiError, match=r"database-ca\.key: not a PEM private key"):
        database_tls(tmp_path, NAMES, "example.test")


def test_a_ca_near_its_end_is_refused_with_the_way_out(tmp_path: Path) -> None:
    first = database_tls(tmp_path, NAMES, "example.test")
    end = _cert(first.ca_pem).not_valid_after_utc
    with pytest.raises(PkiError, match=r"expires on .*wmx secrets rotate database_ca"):
        database_tls(tmp_path, NAMES, "example.test", now=end - dt.timedelta(days=1))


# --- which sites get TLS, and where each part lands ------------------------------------------


def _hosts(*layout: tuple[str, str, tuple[str, ...]]) -> list[HostView]:
    return [HostView(name, address, groups) for name, address, groups in layout]


def test_only_a_database_with_clients_elsewhere_gets_a_certificate() -> None:
    together = Topology(tuple(_hosts(("hs1", "10.0.0.1", ("database", "homeserver", "proxy")))))
    apart = Topology(
        tuple(
            _hosts(
                ("db1", "10.0.0.11", ("database",)),
                ("hs1", "10.0.0.12", ("homeserver", "proxy")),
            )
        )
    )
    assert database_names(together) == ()
    assert database_names(apart) == ("db1", "10.0.0.11")


def test_a_one_host_site_makes_no_ca(tmp_path: Path) -> None:
    site = make_site(
        tmp_path, BASE_CONFIG, _hosts(("hs1", "10.0.0.1", ("database", "homeserver", "proxy")))
    )
    files = render_site(site)["hs1"]
    assert site.database_tls is None
    assert not (site.paths.root / PKI_DIR).exists()
    assert not [f for f in files if f.dest.endswith((".crt", ".key"))]
    conf = next(f for f in files if f.dest == "/etc/wmx/postgresql/postgresql.conf").content
    assert "ssl" not in conf


def test_each_host_gets_its_part_and_the_key_stays_secret(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        BASE_CONFIG,
        _hosts(
            ("db1", "10.0.0.11", ("database",)),
            ("hs1", "10.0.0.12", ("homeserver", "proxy")),
        ),
    )
    tls = site.database_tls
    assert tls is not None
    rendered = render_site(site)
    db = {f.dest: f for f in rendered["db1"]}
    hs = {f.dest: f for f in rendered["hs1"]}
    key = db["/etc/wmx/postgresql/server.key"]
    # PostgreSQL refuses a key that others can read; the build tree keeps it private.
    assert (key.content, key.mode, key.owner, key.secret) == (tls.key_pem, "0600", "postgres", True)
    assert db["/etc/wmx/postgresql/server.crt"].content == tls.cert_pem
    assert hs["/etc/matrix-synapse/database-ca.crt"].content == tls.ca_pem
    holding_key = [
        (host, f.dest)
        for host, files in rendered.items()
        for f in files
        if tls.key_pem in f.content
    ]
    assert holding_key == [("db1", "/etc/wmx/postgresql/server.key")]
    assert "/etc/wmx/postgresql/server.key" not in hs
    # The CA's own key never leaves the operator's machine, nor does anything reach vars.json.
    ca_key = (site.paths.root / PKI_DIR / CA_KEY).read_text()
    assert not [f for files in rendered.values() for f in files if ca_key in f.content]
    build = write_build(site, rendered)
    for host in ("db1", "hs1"):
        role_vars = json.loads((build / host / ".wmx" / "vars.json").read_text())
        assert "PRIVATE KEY" not in json.dumps(role_vars)


# --- `wmx secrets rotate database_ca` ---------------------------------------------------------


def test_rotate_database_ca_says_what_breaks_and_replaces_the_ca(site_dir: Path) -> None:
    runner = CliRunner()
    args = ["--site", str(site_dir), "secrets", "rotate", "database_ca"]
    declined = runner.invoke(app, args, input="n\n")
    assert declined.exit_code == 1
    assert "new database connections" in " ".join(declined.stdout.split())
    assert not (site_dir / PKI_DIR).exists()
    first = runner.invoke(app, [*args, "--yes"])
    assert first.exit_code == 0, first.stderr
    ca = (site_dir / PKI_DIR / CA_CERT).read_text()
    second = runner.invoke(app, [*args, "-y"])
    assert second.exit_code == 0, second.stderr
    assert (site_dir / PKI_DIR / CA_CERT).read_text() != ca
    for result in (first, second):
        assert "PRIVATE KEY" not in result.stdout + result.stderr


def test_render_of_a_split_site_makes_the_ca_and_refuses_an_open_key_in_one_line(
    tmp_path: Path,
) -> None:
    root = tmp_path / "sre"
    shutil.copytree(data_dir("inventories") / "sre", root)
    write_secrets(root / "secrets.yml", Secrets.generate())
    runner = CliRunner()
    made = runner.invoke(app, ["--site", str(root), "render"])
    assert made.exit_code == 0, made.stderr
    assert "made the site's database CA" in made.stderr
    assert (root / "build" / "db1" / "etc/wmx/postgresql/server.key").stat().st_mode & 0o077 == 0
    (root / PKI_DIR / CA_KEY).chmod(0o640)
    refused = runner.invoke(app, ["--site", str(root), "render"])
    assert refused.exit_code == 2
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert f"{root / PKI_DIR / CA_KEY}: readable by others (mode 0640)" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_worker_host_is_a_tls_client_like_the_homeserver(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}}
    site = make_site(
        tmp_path,
        config,
        _hosts(
            ("db1", "10.0.0.11", ("database",)),
            ("hs1", "10.0.0.12", ("homeserver", "proxy")),
            ("w1", "10.0.0.13", ("synapse_workers",)),
        ),
    )
    rendered = {host: {f.dest: f for f in files} for host, files in render_site(site).items()}
    tls = site.database_tls
    assert tls is not None
    for host in ("hs1", "w1"):
        files = rendered[host]
        assert files["/etc/matrix-synapse/database-ca.crt"].content == tls.ca_pem
        args = yaml.safe_load(files["/etc/matrix-synapse/conf.d/secrets.yaml"].content)["database"][
            "args"
        ]
        assert (args["host"], args["sslmode"], args["sslrootcert"]) == (
            "10.0.0.11",
            "verify-full",
            "/etc/matrix-synapse/database-ca.crt",
        )
    hba = rendered["db1"]["/etc/wmx/postgresql/pg_hba.conf"].content
    admitted = [line.split() for line in hba.splitlines() if line.startswith("host")]
    assert [a for a in admitted if a[3].startswith("10.")] == [
        ["hostssl", "synapse", "synapse", "10.0.0.12/32", "scram-sha-256"],
        ["hostssl", "synapse", "synapse", "10.0.0.13/32", "scram-sha-256"],
    ]
