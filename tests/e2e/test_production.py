"""From the lab to a real server (issue 19): docs/production.md walked, step by step,
against a lab host standing in for a fresh VPS: root cannot log in over SSH, the login
user `debian`'s sudo asks for a password. Its commands are read from the document
(tests/e2e/production_doc.py: every ```sh line of steps 1 to 9, with the documented
substitution of the lab's names and address), run in order as an operator types them,
and what they print is compared with what the document shows. Along the way: the DNS
records the site needs, the preflight that stops a first deploy before any ACME order,
the first order rehearsed on the CA's staging directory and then placed for real; at
the end a member the steps created logs in and sends a message.

The lab's one pebble stands in for both of the CA's directories (`wmx lab up --site`
points acme.directory and acme.staging_directory at it): the rehearsal is certbot's dry
run (nothing kept), the real order leaves the certificate.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.e2e.clients import https, password_login
from tests.e2e.conftest import TRANSCRIPT, WMX, wmx
from tests.e2e.production_doc import DOC, LabNames, appears, compared, steps
from wmx.lab import Lab
from wmx.ops.lab_glue import attach_site

HOST = "lab4"
USER = "debian"  # the document's login user, as on Debian's cloud images
SERVER_NAME = "prod.test"
HOMESERVER_HOST = f"matrix.{SERVER_NAME}"
WEB_CLIENT_HOST = f"element.{SERVER_NAME}"
MEMBER = "alice"  # the account step 9 creates
ISSUED = re.compile(r"issued certificate serial", re.IGNORECASE)
STEPS = steps()
# Step 1 on this host: its sudo asks for a password, the document's second case.
REFUSED = {"ssh debian@203.0.113.10 sudo -n true": "sudo: a password is required"}


@dataclass
class Vps:
    work: Path  # the operator's directory, where step 2 creates the site
    lab: Lab
    address: str
    password: str
    names: LabNames
    cwd: Path = field(init=False)
    printed: dict[str, str] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    walked: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cwd = self.work

    @property
    def root(self) -> Path:
        return self.work / "chapter"

    def issued(self) -> int:
        """Certificates the lab's ACME server has issued so far (its log)."""
        log = self.lab.paths.acme_dir / "pebble.log"
        return len(ISSUED.findall(log.read_text(errors="replace")))

    def walk(self, number: int) -> None:
        """Run step ``number``'s commands as the document writes them (substituted);
        note where their output differs from the document's."""
        step = STEPS[number]
        assert step.walked, f"step {number} is marked as not run in the lab"
        self.walked.append(number)
        for block in step.blocks:
            for line in block.commands:
                self.run(line)
            output = self.printed.get(block.shows, "")
            for expected in compared(block.printed):
                if not appears(self.names.printed(expected), output):
                    self.mismatches.append(
                        f"step {number}, `{block.shows}`: {expected!r} not in:\n{output}"
                    )

    def run(self, line: str) -> None:
        if line.startswith("cd "):
            self.cwd = self.cwd / line.split()[1]
            return
        command, given = self.names.command(line), None
        if line.startswith("ssh "):
            lab_ssh = (
                f"-i {self.lab.ssh_key_path} -o UserKnownHostsFile={self.lab.known_hosts_path}"
            )
            command = f"ssh {lab_ssh} -o BatchMode=yes {command.removeprefix('ssh ')}"
        if line == "wmx secrets sudo-password":
            command, given = f"{command} --stdin", self.password + "\n"
        env = {
            **os.environ,
            "PATH": f"{Path(WMX).parent}:{os.environ['PATH']}",
            "COLUMNS": "200",
        }
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=self.cwd,
            env=env,
            input=given,
            stdin=None if given else subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        output = result.stdout + result.stderr
        TRANSCRIPT.append(output)
        self.printed[line] = output
        if line in REFUSED:
            assert result.returncode != 0 and REFUSED[line] in output, output
        else:
            assert result.returncode == 0, f"{line} ({result.returncode}):\n{output}"


@pytest.fixture(scope="module")
def vps(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vps]:
    work = tmp_path_factory.mktemp("operator")
    lab.remove(HOST)
    lab.up(int(HOST.removeprefix("lab")))
    password = secrets.token_urlsafe(18)
    lab.sudo_only(HOST, USER, password)
    address = lab.host(HOST).address
    names = LabNames(server_name=SERVER_NAME, address=address, host=HOST)
    yield Vps(work=work, lab=lab, address=address, password=password, names=names)


def test_steps_1_to_4_reach_the_vps_through_its_sudo_user(vps: Vps) -> None:
    ssh = ["ssh", "-i", str(vps.lab.ssh_key_path), "-o", "BatchMode=yes"]
    ssh += ["-o", f"UserKnownHostsFile={vps.lab.known_hosts_path}", "-o", "ConnectTimeout=5"]
    as_root = subprocess.run([*ssh, f"root@{vps.address}", "true"], capture_output=True, text=True)
    assert as_root.returncode == 255 and "Permission denied" in as_root.stderr
    # The document names the message its second case prints.
    assert all(f"`{message}`" in DOC.read_text() for message in REFUSED.values())
    vps.walk(1)
    vps.walk(2)
    # Step 3's edit: the lab's inventory, which must say what the document's says.
    attach_site(vps.root, [vps.lab.host(HOST)], vps.lab)
    (block,) = STEPS[3].yaml
    documented = yaml.safe_load(vps.names.command(block))["all"]["hosts"]["matrix"]
    lab_host = yaml.safe_load((vps.root / "inventory.yml").read_text())["all"]["hosts"][HOST]
    for key in set(documented) - {"public_ipv6"}:  # the lab has no IPv6
        assert lab_host[key] == documented[key], key
    vps.walk(3)
    vps.walk(4)
    assert "sudo_password" in (vps.root / "secrets.yml").read_text()


def test_step_5_lists_every_name_the_deploy_needs(vps: Vps) -> None:
    vps.walk(5)
    assert "every required record resolves" in vps.printed["wmx dns --check"]
    records = json.loads(wmx("dns", "-o", "json", site=vps.root).stdout)["records"]
    addresses = {(r["name"], r["type"], r["value"]) for r in records if r["required"]}
    assert addresses == {
        (name, "A", vps.address) for name in (SERVER_NAME, HOMESERVER_HOST, WEB_CLIENT_HOST)
    }
    zone = vps.printed["wmx dns"]
    assert f"{HOMESERVER_HOST}. 3600 IN A {vps.address}" in zone.splitlines()
    # No SRV record: .well-known delegates, and a fallback to SRV would not work (the
    # proxy's block for the server name serves .well-known only: docs/federation.md).
    assert "_matrix-fed._tcp" not in zone
    vps.walk(6)  # nothing to run: the lab's network filters nothing


def test_preflight_stops_the_first_deploy_before_any_acme_order(vps: Vps) -> None:
    vps.lab.set_names({HOMESERVER_HOST: None})
    try:
        before = vps.issued()
        missing = wmx("dns", "--check", site=vps.root, check=False)
        assert missing.returncode == 1 and "no A record" in missing.stdout
        stopped = wmx("deploy", site=vps.root, check=False)
        assert stopped.returncode != 0
        assert f"{HOMESERVER_HOST} does not resolve" in stopped.stderr, stopped.stderr
        assert "No certificate was requested" in stopped.stderr
        # Nothing ran on the host: certbot has never been there, the CA saw no order.
        certbot = vps.lab.run(HOST, ["test", "-e", "/var/log/letsencrypt"], check=False)
        assert certbot.returncode == 1
        assert vps.issued() == before
    finally:
        vps.lab.set_names({HOMESERVER_HOST: HOST})


def test_step_7_rehearses_on_staging_then_gets_the_real_certificate(vps: Vps) -> None:
    before = vps.issued()
    vps.walk(7)
    # Two certificates: the dry run's on the staging directory, then the real one.
    assert vps.issued() == before + 2
    logs = vps.lab.run(HOST, ["sh", "-c", "cat /var/log/letsencrypt/letsencrypt.log*"]).stdout
    assert "--dry-run" in logs or "dry run" in logs.lower()
    live = vps.lab.run(HOST, ["ls", "/etc/letsencrypt/live/wmx"]).stdout
    assert "fullchain.pem" in live
    with https(str(vps.lab.trust_bundle_path)) as http:
        answer = http.get(f"https://{SERVER_NAME}/.well-known/matrix/server")
        assert answer.status_code == 200 and HOMESERVER_HOST in answer.text
        assert http.get(f"https://{WEB_CLIENT_HOST}/").status_code == 200
    # A later deploy: the host has its certificate, no preflight, no new order.
    wmx("deploy", "--only", "nginx", site=vps.root)
    assert vps.issued() == before + 2


def test_steps_8_and_9_end_with_a_member_logged_in_sending_a_message(vps: Vps) -> None:
    vps.walk(8)
    vps.walk(9)
    created = vps.printed[f"wmx user create {MEMBER} --generate-password"]
    user_id = f"@{MEMBER}:{SERVER_NAME}"
    match = re.search(rf"Password for {re.escape(user_id)}: (\S+)", created)
    assert match, created
    with https(str(vps.lab.trust_bundle_path)) as http:
        # As a client does: the homeserver from the server name's .well-known.
        found = http.get(f"https://{SERVER_NAME}/.well-known/matrix/client").json()
        homeserver = found["m.homeserver"]["base_url"].rstrip("/")
        assert homeserver == f"https://{HOMESERVER_HOST}"
        login = password_login(http, homeserver, MEMBER, match[1])
        assert login.status_code == 200, login.text
        assert login.json()["user_id"] == user_id
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        room = http.post(
            f"{homeserver}/_matrix/client/v3/createRoom", json={"name": "First"}, headers=auth
        ).json()["room_id"]
        body = "Hello from the chapter's first member"
        sent = http.put(
            f"{homeserver}/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/first",
            json={"msgtype": "m.text", "body": body},
            headers=auth,
        )
        assert sent.status_code == 200, sent.text
        messages = http.get(
            f"{homeserver}/_matrix/client/v3/rooms/{quote(room)}/messages",
            params={"dir": "b", "limit": "10"},
            headers=auth,
        ).json()["chunk"]
    assert any(
        e["sender"] == user_id and e.get("content", {}).get("body") == body for e in messages
    )


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


def test_the_walk_covered_the_document_and_printed_what_it_shows(vps: Vps) -> None:
    walked = [n for n, step in STEPS.items() if step.walked]
    assert vps.walked == walked, "a step of docs/production.md was not walked"
    assert not vps.mismatches, "\n\n".join(vps.mismatches)
