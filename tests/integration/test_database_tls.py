"""PostgreSQL serving the certificate wmx issues, to libpq clients on loopback: one that
verifies it (sslmode=verify-full against the site's CA, as Synapse and the backup job
do) gets in over TLS; one that expects another name or trusts another CA, and one that
does not use TLS, are refused. And Synapse itself, started with the `database` section
wmx renders for it, holds only TLS connections.

The server runs with the TLS settings and the pg_hba.conf rules that wmx renders for the
database host of a site whose Synapse is elsewhere; only the file paths differ, and the
two `host ... 127.0.0.1/32, ::1/128` lines for local processes are left out, since the
"remote" client of this test is itself on loopback. The lab proves the same between two
hosts (tests/e2e/test_database_tls.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.postgres_cluster import AS_POSTGRES, private_cluster
from tests.integration.synapse_server import free_port, start_synapse
from tests.integration.test_workers import _workers_python
from tests.unit.render_sites import BASE_CONFIG, SECRETS, make_site
from wmx.render import render_site
from wmx.site.topology import HostView

# The site's secret, as the rendered Synapse settings carry it.
PASSWORD = SECRETS.postgres_password


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The files wmx renders for db1 (PostgreSQL) and hs1 (Synapse) of a two-host site,
    and those of a second site (another CA)."""
    out: dict[str, dict[str, str]] = {}
    for site_name in ("site", "other"):
        site = make_site(
            tmp_path_factory.mktemp(site_name),
            BASE_CONFIG,
            [
                HostView("db1", "127.0.0.1", ("database",)),
                # Synapse's host: this test's client, on loopback too.
                HostView("hs1", "127.0.0.1", ("homeserver", "proxy")),
            ],
        )
        for host, files in render_site(site).items():
            out[f"{site_name}/{host}"] = {f.dest: f.content for f in files}
    return out


@pytest.fixture(scope="module")
def server(rendered: dict[str, dict[str, str]]) -> Iterator[tuple[int, Path]]:
    """PostgreSQL on 127.0.0.1 with the rendered TLS settings; yields its port and a
    directory holding the clients' CA files (site.crt, other.crt)."""
    db = rendered["site/db1"]
    files = Path(tempfile.mkdtemp(prefix="wmx-dbtls-files-"))
    shutil.chown(files, "postgres", "postgres")
    paths = {
        "/etc/wmx/postgresql/server.crt": files / "server.crt",
        "/etc/wmx/postgresql/server.key": files / "server.key",
    }
    for dest, path in paths.items():
        path.write_text(db[dest])
        shutil.chown(path, "postgres", "postgres")
        path.chmod(0o600)
    hba = files / "pg_hba.conf"
    rules = db["/etc/wmx/postgresql/pg_hba.conf"].splitlines()
    hba.write_text(
        "\n".join(line for line in rules if not re.match(r"host\s+all\s+all\s+(127\.|::1)", line))
        + "\n"
    )
    shutil.chown(hba, "postgres", "postgres")
    settings = [f"hba_file={hba}"]
    for line in db["/etc/wmx/postgresql/postgresql.conf"].splitlines():
        match = re.fullmatch(r"(ssl\w*) = '?([^']*)'?", line)
        if match:
            name, value = match.groups()
            settings.append(f"{name}={paths.get(value, value)}")
    assert [s.split("=")[0] for s in settings[1:]] == [
        "ssl",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_min_protocol_version",
    ]
    port = free_port()
    for site_name in ("site", "other"):
        ca = rendered[f"{site_name}/hs1"]["/etc/matrix-synapse/database-ca.crt"]
        (files / f"{site_name}.crt").write_text(ca)
    with private_cluster("wmx-dbtls-", "listen_addresses=127.0.0.1", f"port={port}", *settings) as (
        _root,
        env,
    ):
        # On stdin: the role's password stays out of argv (as the postgresql role does).
        sql = f"CREATE ROLE synapse LOGIN PASSWORD '{PASSWORD}';\n"
        sql += "CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' TEMPLATE template0;\n"
        psql = [*AS_POSTGRES, "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-p", str(port)]
        done = subprocess.run(
            [*psql, "-d", "postgres"], input=sql, capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        yield port, files
    shutil.rmtree(files, ignore_errors=True)


def _client_env() -> dict[str, str]:
    """The environment of a client: no PG* variables of ours, the password (not argv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGPASSWORD": PASSWORD, "PGCONNECT_TIMEOUT": "10"})
    return env


def _connect(port: int, **conninfo: str) -> subprocess.CompletedProcess[str]:
    """psql (libpq, as psycopg2 in Synapse) with `conninfo`, as a client on another host
    would connect; the password in the environment (PGPASSWORD), never in argv."""
    parts = {"port": str(port), "dbname": "synapse", "user": "synapse", **conninfo}
    env = _client_env()
    query = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    argv = ["psql", "-XAtq", "-d", " ".join(f"{k}={v}" for k, v in parts.items()), "-c", query]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def _verify_full(port: int, ca: Path, host: str) -> subprocess.CompletedProcess[str]:
    """A client that verifies the server against `ca` and expects the name `host`,
    reaching it at 127.0.0.1 whatever that name."""
    return _connect(
        port, host=host, hostaddr="127.0.0.1", sslmode="verify-full", sslrootcert=str(ca)
    )


def test_a_client_verifying_the_sites_ca_connects_over_tls(server: tuple[int, Path]) -> None:
    port, files = server
    # By the address (as Synapse connects: the inventory's ansible_host) and by the
    # inventory name (a client that resolves it): both are in the certificate.
    for host in ("127.0.0.1", "db1"):
        result = _verify_full(port, files / "site.crt", host)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "t|TLSv1.3"


def test_a_client_expecting_another_name_is_refused(server: tuple[int, Path]) -> None:
    port, files = server
    result = _verify_full(port, files / "site.crt", "localhost")
    assert result.returncode != 0
    assert 'does not match host name "localhost"' in result.stderr


def test_a_client_trusting_another_ca_is_refused(server: tuple[int, Path]) -> None:
    port, files = server
    result = _verify_full(port, files / "other.crt", "127.0.0.1")
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr


def test_a_client_without_tls_is_refused_by_pg_hba(server: tuple[int, Path]) -> None:
    port, _files = server
    result = _connect(port, host="127.0.0.1", sslmode="disable")
    assert result.returncode != 0
    assert "pg_hba.conf rejects connection" in result.stderr
    assert "no encryption" in result.stderr


def test_synapse_with_the_rendered_settings_connects_over_tls_only(
    server: tuple[int, Path], rendered: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """Synapse itself (with psycopg2, as the synapse role installs it) started with the
    `database` section wmx renders for a homeserver on another host: every connection
    of its pool is TLS, as the database host's pg_stat_ssl sees it."""
    port, files = server
    secrets_yaml = yaml.safe_load(rendered["site/hs1"]["/etc/matrix-synapse/conf.d/secrets.yaml"])
    database: dict[str, Any] = secrets_yaml["database"]
    # Only what differs on this machine: the port, and where the CA file is.
    assert database["args"]["sslmode"] == "verify-full"
    database["args"].update(port=port, sslrootcert=str(files / "site.crt"))

    synapse = start_synapse(
        tmp_path / "synapse",
        SECRETS,
        adjust=lambda settings: settings.update(database=database),
        python=_workers_python(),
    )
    try:
        sql = (
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
            "WHERE a.usename = 'synapse' AND a.pid <> pg_backend_pid()"
        )
        done = subprocess.run(
            ["psql", "-XAtq", "-h", "127.0.0.1", "-p", str(port), "-d", "synapse",
             "-U", "synapse", "-c", sql],
            capture_output=True, text=True, check=False,
            env={**_client_env(), "PGSSLMODE": "verify-full",
                 "PGSSLROOTCERT": str(files / "site.crt")},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        states = done.stdout.split()
        assert states and set(states) == {"t"}, states
    finally:
        synapse.stop()
