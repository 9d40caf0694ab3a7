"""PostgreSQL on its own lab host, reached over verified TLS (docs/database.md).

The site is tests/e2e/test_workers.py's three-host one (PostgreSQL on lab2, Synapse's
main process on lab3, its workers on lab4), the same recipe and so the same snapshot:
whichever module runs first deploys it, the other boots the copy in seconds.

On the database host, every connection of Synapse's processes (from both other hosts)
is TLS in `pg_stat_ssl`; a connection without TLS from the homeserver host is refused by
pg_hba.conf, and one that expects another name is refused by the client's own check of
the certificate. The files each host holds are the site's pki/ ones, the key private.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e import test_workers
from tests.e2e.clients import wait_until
from tests.e2e.test_workers import DATABASE, HOMESERVER, WORKERS, Rig
from wmx.site.pki import CA_CERT, PKI_DIR, SERVER_CERT

pytestmark = pytest.mark.timeout(1200)

# The workers module's deployed three-host site (its recipe, so its snapshot).
rig = test_workers.rig

SYNAPSE_PYTHON = "/opt/synapse/current/bin/python"
CA_FILE = "/etc/matrix-synapse/database-ca.crt"
# Synapse's connections as the database host sees them: address, TLS and its version.
SESSIONS_SQL = (
    "SELECT json_agg(json_build_object('client', host(a.client_addr), 'ssl', s.ssl, "
    "'version', s.version)) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
    "WHERE a.usename = 'synapse' AND a.client_addr IS NOT NULL"
)


def _sessions(rig: Rig) -> list[dict[str, object]]:
    query = ["runuser", "-u", "postgres", "--", "psql", "-XAtc", SESSIONS_SQL, "synapse"]
    out = rig.lab.run(DATABASE, query).stdout.strip()
    sessions: list[dict[str, object]] = json.loads(out) if out else []
    return sessions


def test_synapse_on_both_hosts_connects_over_tls(rig: Rig) -> None:
    expected = {rig.address(HOMESERVER), rig.address(WORKERS)}
    wait_until(
        lambda: {s["client"] for s in _sessions(rig)} >= expected,
        "Synapse's connections from the homeserver and the worker host",
    )
    sessions = _sessions(rig)
    assert sessions and all(s["ssl"] is True for s in sessions), sessions
    assert {s["version"] for s in sessions} == {"TLSv1.3"}, sessions


def _connect_from_homeserver(rig: Rig, **params: str) -> str:
    """psycopg2 in Synapse's venv on the homeserver host, as Synapse connects but with
    `params`; no password (pg_hba.conf or the certificate check refuses first). Returns
    the error, or "connected"."""
    script = (
        "import json, sys, psycopg2\n"
        "try:\n"
        "    psycopg2.connect(**json.loads(sys.argv[1]), connect_timeout=10)\n"
        "except psycopg2.OperationalError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('connected')\n"
    )
    args = {"dbname": "synapse", "user": "synapse", "port": 5432, **params}
    argv = [SYNAPSE_PYTHON, "-c", script, json.dumps(args)]
    return rig.lab.run(HOMESERVER, argv).stdout


def test_a_connection_without_tls_is_refused(rig: Rig) -> None:
    error = _connect_from_homeserver(rig, host=rig.address(DATABASE), sslmode="disable")
    assert "pg_hba.conf rejects connection" in error and "no encryption" in error, error


def test_a_client_expecting_another_name_is_refused(rig: Rig) -> None:
    error = _connect_from_homeserver(
        rig,
        host="not-the-database.test",
        hostaddr=rig.address(DATABASE),
        sslmode="verify-full",
        sslrootcert=CA_FILE,
    )
    assert 'does not match host name "not-the-database.test"' in error, error


def test_each_host_holds_its_part_of_the_sites_pki(rig: Rig) -> None:
    pki = rig.root / PKI_DIR
    for host in (HOMESERVER, WORKERS):
        ca = rig.lab.run(host, ["cat", CA_FILE]).stdout
        assert ca == (pki / CA_CERT).read_text(), host
    cert = rig.lab.run(DATABASE, ["cat", "/etc/wmx/postgresql/server.crt"]).stdout
    assert cert == (pki / SERVER_CERT).read_text()
    key = rig.lab.run(DATABASE, ["stat", "-c", "%a %U", "/etc/wmx/postgresql/server.key"])
    assert key.stdout.split() == ["600", "postgres"]
    for host in (HOMESERVER, WORKERS):
        found = rig.lab.run(host, ["test", "-e", "/etc/wmx/postgresql/server.key"], check=False)
        assert found.returncode != 0, f"{host} holds PostgreSQL's key"
