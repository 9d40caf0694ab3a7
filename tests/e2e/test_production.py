"""From the lab to a real server (issue 19): a host like a fresh VPS whose root cannot log
in over SSH and whose login user's sudo asks for a password; the DNS records the site
needs; the preflight that stops a first deploy before any ACME order; the first order
rehearsed on the CA's staging directory, then placed for real.

The lab's one pebble stands in for both of the CA's directories (`wmx lab up --site`
points acme.directory and acme.staging_directory at it): the rehearsal is certbot's dry
run (nothing kept), the real order leaves the certificate. Only base and nginx are
deployed: the certificate is what this module is about (the backup module's site runs
every component through a NOPASSWD sudo user).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.clients import https
from tests.e2e.conftest import TRANSCRIPT, WMX, new_site, wmx
from wmx.lab import Lab
from wmx.ops.lab_glue import attach_site
from wmx.site.yamlfile import dump_document, load_document, write_atomically

HOST = "lab4"
USER = "chapter"
SERVER_NAME = "prod.test"
HOMESERVER_HOST = f"matrix.{SERVER_NAME}"
ONLY = ["--only", "base", "--only", "nginx"]
ISSUED = re.compile(r"issued certificate serial", re.IGNORECASE)


@dataclass
class Vps:
    root: Path
    lab: Lab
    address: str
    password: str

    def issued(self) -> int:
        """Certificates the lab's ACME server has issued so far (its log)."""
        log = self.lab.paths.acme_dir / "pebble.log"
        return len(ISSUED.findall(log.read_text(errors="replace")))


@pytest.fixture(scope="module")
def vps(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vps]:
    root = tmp_path_factory.mktemp("sites") / "production"
    new_site(root, SERVER_NAME)
    lab.remove(HOST)
    lab.up(int(HOST.removeprefix("lab")))
    password = secrets.token_urlsafe(18)
    lab.sudo_only(HOST, USER, password)
    attach_site(root, [lab.host(HOST)], lab)
    # The core and the proxy only: no web client, TURN, monitoring or IRC bridge.
    inventory = root / "inventory.yml"
    document = load_document(inventory)
    for group in ("monitoring", "irc_bridge", "element", "turn"):
        document["all"]["children"].pop(group, None)
    write_atomically(inventory, dump_document(document))
    stored = subprocess.run(
        [WMX, "--site", str(root), "secrets", "sudo-password", "--stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
    )
    TRANSCRIPT.append(stored.stdout + stored.stderr)
    assert stored.returncode == 0, stored.stderr
    yield Vps(root=root, lab=lab, address=lab.host(HOST).address, password=password)


def test_root_cannot_log_in_and_sudo_asks_for_a_password(vps: Vps) -> None:
    key = ["-i", str(vps.lab.ssh_key_path), "-o", f"UserKnownHostsFile={vps.lab.known_hosts_path}"]
    ssh = ["ssh", *key, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    as_root = subprocess.run([*ssh, f"root@{vps.address}", "true"], capture_output=True, text=True)
    assert as_root.returncode == 255 and "Permission denied" in as_root.stderr
    no_password = subprocess.run(
        [*ssh, f"{USER}@{vps.address}", "sudo -n true"], capture_output=True, text=True
    )
    assert no_password.returncode == 1 and "password is required" in no_password.stderr
    inventory = (vps.root / "inventory.yml").read_text()
    assert f"ansible_user: {USER}" in inventory and "ansible_become: true" in inventory


def test_dns_lists_every_name_the_deploy_needs(vps: Vps) -> None:
    records = json.loads(wmx("dns", "-o", "json", site=vps.root).stdout)["records"]
    addresses = {(r["name"], r["type"], r["value"]) for r in records if r["required"]}
    assert addresses == {
        (SERVER_NAME, "A", vps.address),
        (HOMESERVER_HOST, "A", vps.address),
    }
    zone = wmx("dns", "-o", "zone", site=vps.root).stdout
    assert f"{HOMESERVER_HOST}. 3600 IN A {vps.address}" in zone.splitlines()
    assert f"_matrix-fed._tcp.{SERVER_NAME}. 3600 IN SRV 10 0 443 {HOMESERVER_HOST}." in zone
    checked = wmx("dns", "--check", site=vps.root)
    assert "every required record resolves" in checked.stdout


def test_preflight_stops_the_first_deploy_before_any_acme_order(vps: Vps) -> None:
    vps.lab.set_names({HOMESERVER_HOST: None})
    try:
        before = vps.issued()
        missing = wmx("dns", "--check", site=vps.root, check=False)
        assert missing.returncode == 1 and "no A record" in missing.stdout
        stopped = wmx("deploy", *ONLY, site=vps.root, check=False)
        assert stopped.returncode != 0
        assert f"{HOMESERVER_HOST} does not resolve" in stopped.stderr, stopped.stderr
        assert "No certificate was requested" in stopped.stderr
        # Nothing ran on the host: certbot has never been there, the CA saw no order.
        certbot = vps.lab.run(HOST, ["test", "-e", "/var/log/letsencrypt"], check=False)
        assert certbot.returncode == 1
        assert vps.issued() == before
    finally:
        vps.lab.set_names({HOMESERVER_HOST: HOST})


def test_first_deploy_rehearses_on_staging_then_gets_the_real_certificate(vps: Vps) -> None:
    before = vps.issued()
    wmx("deploy", *ONLY, site=vps.root)
    # Two certificates: the dry run's on the staging directory, then the real one.
    assert vps.issued() == before + 2
    logs = vps.lab.run(HOST, ["sh", "-c", "cat /var/log/letsencrypt/letsencrypt.log*"]).stdout
    assert "--dry-run" in logs or "dry run" in logs.lower()
    live = vps.lab.run(HOST, ["ls", "/etc/letsencrypt/live/wmx"]).stdout
    assert "fullchain.pem" in live
    with https(str(vps.lab.trust_bundle_path)) as http:
        answer = http.get(f"https://{SERVER_NAME}/.well-known/matrix/server")
    assert answer.status_code == 200 and HOMESERVER_HOST in answer.text
    # A second deploy: the host has its certificate, no preflight, no new order.
    wmx("deploy", *ONLY, site=vps.root)
    assert vps.issued() == before + 2


def test_own_ssh_commands_use_the_sudo_password_and_never_show_it(vps: Vps) -> None:
    journal = wmx("logs", "nginx", "--lines", "20", site=vps.root)
    assert journal.stdout.strip(), journal.stderr
    assert vps.password not in "".join(TRANSCRIPT)
    runs = vps.root / ".wmx" / "runs"
    for path in runs.rglob("*"):
        if path.is_file():
            assert vps.password not in path.read_text(errors="replace"), path
    auth = vps.lab.run(HOST, ["journalctl", "--no-pager", "-o", "cat"]).stdout
    assert vps.password not in auth
