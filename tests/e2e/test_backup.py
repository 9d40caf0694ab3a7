"""Backups that are restored, not just taken (issue 7), on real lab hosts.

Deploy a site on lab4 with its backup repository on lab5; create users, a room with
messages and an uploaded image; back up over SSH (twice: deduplication); rehearse the
restore with a drill onto lab5; destroy lab4, recreate and deploy it empty, restore;
then the same users log in, the history and the image are there byte for byte and the
server signing key is unchanged. Finally a damaged repository makes the drill fail.

lab4 and lab5 belong to this test (.coord/README): it destroys lab4.
"""

from __future__ import annotations

import functools
import json
import secrets
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.clients import (
    Account,
    access_token,
    authed,
    create_account,
    create_room,
    download,
    https,
    join,
    send_text,
    server_key,
    upload,
    wait_until,
)
from tests.e2e.conftest import TRANSCRIPT, drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from wmx.lab import Lab
from wmx.ops.lab_glue import attach_site
from wmx.site import Site, load_site

DATA_HOST, REPO_HOST = "lab4", "lab5"
# Both hosts are like a typical VPS (issue 19): root cannot log in over SSH; wmx logs in
# as this user and becomes root with sudo for the deploy and every command here.
SUDO_USER = "debian"
SERVER_NAME = "backup.test"
HOMESERVER = f"https://matrix.{SERVER_NAME}"
# This test is about backups: the core components and the backup ones only (the other
# optional components have their own tests).
ONLY = ["base", "postgresql", "synapse", "nginx", "backup_repo", "backup"]
ONLY_ARGS = [arg for c in ONLY for arg in ("--only", c)]
MESSAGES = [f"message {i} before the disaster" for i in range(5)]


@dataclass
class World:
    """What the tests share, in order: the site, its users and what they wrote."""

    root: Path
    lab: Lab
    trust: str
    accounts: dict[str, Account] = field(default_factory=dict)
    room_id: str = ""
    image: bytes = b""
    image_mxc: str = ""
    server_key: dict[str, Any] = field(default_factory=dict)

    @property
    def site(self) -> Site:
        return load_site(self.root)


def attach(root: Path, lab: Lab) -> None:
    """Point the site at lab4 (everything) and lab5 (group backup); core and backup only."""
    attach_site(root, [lab.host(DATA_HOST), lab.host(REPO_HOST)], lab)
    drop_groups(root, "monitoring", "irc_bridge")


def deploy(root: Path) -> subprocess.CompletedProcess[str]:
    return wmx("deploy", *ONLY_ARGS, site=root)


def random_png(width: int = 700, height: int = 700) -> bytes:
    """A real PNG of noise: incompressible, so deduplication shows in the sizes."""
    rows = b"".join(b"\x00" + secrets.token_bytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def history(http: httpx.Client, token: str, room_id: str) -> list[dict[str, Any]]:
    response = http.get(
        f"{HOMESERVER}/_matrix/client/v3/rooms/{quote(room_id)}/messages",
        params={"dir": "b", "limit": "100"},
        headers=authed(token),
    )
    assert response.status_code == 200, response.text
    return list(response.json()["chunk"])


def on_host(lab: Lab, host: str, argv: list[str], *, input: str | None = None) -> str:
    return lab.run(host, argv, check=False, input=input).stdout


# The site as first deployed; later sessions boot a snapshot of it (tests/e2e/deployments.py).
BACKUP_SITE = Recipe(
    name="backup",
    hosts=(DATA_HOST, REPO_HOST),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "only": ONLY},
)


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME)
    # Fresh hosts: repositories an earlier run left there belong to another passphrase.
    for name in (DATA_HOST, REPO_HOST):
        lab.remove(name)
    hosts_up(lab)
    attach(root, lab)
    return deploy(root)


def hosts_up(lab: Lab) -> None:
    """lab1..lab5 up; lab4 and lab5 refuse root's SSH login and have a sudo user."""
    lab.up(5)
    for name in (DATA_HOST, REPO_HOST):
        lab.sudo_only(name, SUDO_USER)


@pytest.fixture(scope="module")
def world(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sites") / "backup"
    deployed_site(
        BACKUP_SITE,
        lab,
        root,
        functools.partial(_first_deploy, lab),
        on_restore=lambda _: wait_for_homeserver(HOMESERVER, lab.trust_bundle_path),
    )
    yield World(root=root, lab=lab, trust=str(lab.trust_bundle_path))


def test_backups_go_to_a_second_host_and_deduplicate(world: World) -> None:
    site = world.site
    alice = create_account(site, "alice")
    bob = create_account(site, "bob")
    world.accounts = {"alice": alice, "bob": bob}
    world.image = random_png()
    with https(world.trust) as http:
        token = access_token(http, HOMESERVER, alice)
        world.room_id = create_room(
            http, HOMESERVER, token, name="before the disaster", invite=[bob.user_id]
        )
        join(http, HOMESERVER, access_token(http, HOMESERVER, bob), world.room_id)
        world.image_mxc = upload(http, HOMESERVER, token, world.image, "noise.png", "image/png")
        for body in MESSAGES:
            send_text(http, HOMESERVER, token, world.room_id, body)
        image = http.put(
            f"{HOMESERVER}/_matrix/client/v3/rooms/{quote(world.room_id)}/send/m.room.message/img",
            json={"msgtype": "m.image", "body": "noise.png", "url": world.image_mxc},
            headers=authed(token),
        )
        assert image.status_code == 200, image.text
        world.server_key = server_key(http, HOMESERVER)

    first = wmx("backup", "run", site=world.root)
    assert "✓ lab5" in first.stdout and "✓ local" in first.stdout, first.stdout
    wmx("backup", "run", site=world.root)
    listing = json.loads(wmx("backup", "list", "--output", "json", site=world.root).stdout)
    repos = {r["label"]: r for r in listing["repositories"]}
    assert set(repos) == {"lab5", "local"}
    assert (
        repos["lab5"]["url"]
        == f"ssh://borg@{world.lab.host(REPO_HOST).address}/srv/wmx-backup/{SERVER_NAME}"
    )
    archives = repos["lab5"]["archives"]
    assert len(archives) == 2, archives
    # The second backup, with no new data, adds a fraction of the first.
    assert archives[0]["deduplicated_size"] > len(world.image)
    assert archives[1]["deduplicated_size"] * 4 < archives[0]["deduplicated_size"], archives
    assert archives[1]["original_size"] >= archives[0]["original_size"] * 0.9
    assert listing["status"]["last_run"]["ok"] is True
    table = wmx("backup", "list", site=world.root).stdout
    assert archives[1]["name"] in table and "added (dedup.)" in table
    # The keys, for the operator to keep offline with the passphrase.
    keys_dir = world.root / "keys"
    wmx("backup", "export-key", "--dir", str(keys_dir), site=world.root)
    for label in ("lab5", "local"):
        key = keys_dir / f"{SERVER_NAME}-{label}.borg-key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert key.read_text().startswith("BORG_KEY ")
    # A repository that refuses us: the run fails and says why, `wmx backup list` and
    # `wmx status` show it, and the archives already there stay.
    keys = "/srv/wmx-backup/.ssh/authorized_keys"
    world.lab.run(REPO_HOST, ["mv", keys, f"{keys}.off"])
    try:
        failed = wmx("backup", "run", site=world.root, check=False)
    finally:
        world.lab.run(REPO_HOST, ["mv", f"{keys}.off", keys])
    assert failed.returncode != 0, failed.stdout
    assert "✗ lab5" in failed.stdout and "backup failed" in failed.stderr
    listed = wmx("backup", "list", site=world.root, check=False)
    assert listed.returncode == 1 and "FAILED" in listed.stdout, listed.stdout
    after = json.loads(wmx("backup", "list", "-o", "json", site=world.root, check=False).stdout)
    kept = {r["label"]: r for r in after["repositories"]}["lab5"]["archives"]
    assert [a["name"] for a in kept] == [a["name"] for a in archives]
    status = wmx("status", site=world.root, check=False)
    assert "last run failed on lab4" in status.stdout, status.stdout
    # The journal needs root: read through sudo, as the sudo user.
    logs = wmx("logs", "synapse", "--lines", "20", site=world.root)
    assert len(logs.stdout.splitlines()) >= 5, logs.stdout + logs.stderr
    # The timer runs the same job under systemd, with the same result.
    started = world.lab.run(DATA_HOST, ["systemctl", "start", "wmx-backup.service"], check=False)
    assert started.returncode == 0, started.stderr
    metrics = on_host(
        world.lab, DATA_HOST, ["cat", "/var/lib/prometheus/node-exporter/wmx_backup.prom"]
    )
    for name in (
        "wmx_backup_last_success_timestamp_seconds",
        "wmx_backup_last_size_bytes",
        "wmx_backup_last_duration_seconds",
        "wmx_backup_max_age_seconds",
    ):
        assert f"\n{name} " in metrics, metrics
    assert "wmx_backup_last_run_success 1" in metrics


def test_repositories_and_logs_hold_no_secret_in_clear(world: World) -> None:
    secrets_ = world.site.secrets
    patterns = "\n".join(secrets_.values()) + "\n"
    places = {
        REPO_HOST: ["/srv/wmx-backup", "/var/log"],
        DATA_HOST: ["/var/backups/wmx", "/var/log", "/var/lib/wmx/backup/status.json"],
    }
    for host, paths in places.items():
        found = on_host(
            world.lab, host, ["grep", "-rlaF", "-f", "/dev/stdin", *paths], input=patterns
        )
        assert not found.strip(), f"secrets in clear on {host}: {found}"
    journal = on_host(world.lab, DATA_HOST, ["journalctl", "--no-pager", "-o", "cat"])
    assert secrets_.backup_passphrase not in journal
    runs = "".join(
        p.read_text(errors="replace") for p in (world.root / ".wmx/runs").rglob("*") if p.is_file()
    )
    assert secrets_.backup_passphrase not in runs
    assert not [s for s in secrets_.values() if s in "".join(TRANSCRIPT)]
    # The passphrase file is root's only; borg reads it through BORG_PASSCOMMAND.
    mode = on_host(world.lab, DATA_HOST, ["stat", "-c", "%a %U", "/etc/wmx/backup/passphrase"])
    assert mode.strip() == "600 root"


def test_drill_passes_on_an_intact_backup(world: World) -> None:
    result = wmx("backup", "drill", "--to", REPO_HOST, "--output", "json", site=world.root)
    report = json.loads(result.stdout)
    assert report["ok"], report
    compared = {c["what"] for c in report["checks"]}
    assert {"user count", "room count", "media file checksums (sha256)",
            "server signing key (restored file)",
            "server key published at /_matrix/key/v2/server"} <= compared  # fmt: skip
    assert any(w.startswith(f"latest event of {world.room_id}") for w in compared), compared


def test_restore_onto_a_fresh_host_brings_everything_back(world: World) -> None:
    """Needs a fresh deploy, not a snapshot: a freshly deployed host makes its own signing
    key, and the restore must be seen to bring the old one back (a copy of lab4 as first
    deployed would already hold it)."""
    lab, root = world.lab, world.root
    lab.remove(DATA_HOST)
    hosts_up(lab)
    attach(root, lab)
    deploy(root)
    with https(world.trust) as http:
        fresh_key = server_key(http, HOMESERVER)
    assert fresh_key != world.server_key, "a new host has a new key until the restore"

    result = wmx("backup", "restore", "latest", "--to", DATA_HOST, site=root)
    assert "Restore complete" in result.stdout, result.stdout

    with https(world.trust) as http:
        wait_until(lambda: http.get(f"{HOMESERVER}/_matrix/client/versions").status_code == 200,
                   "Synapse after the restore")  # fmt: skip
        assert server_key(http, HOMESERVER) == world.server_key
        token = access_token(http, HOMESERVER, world.accounts["alice"])
        access_token(http, HOMESERVER, world.accounts["bob"])
        events = history(http, token, world.room_id)
        bodies = [e["content"].get("body") for e in events if e["type"] == "m.room.message"]
        assert set(MESSAGES) <= set(bodies), bodies
        urls = [e["content"].get("url") for e in events if e["content"].get("msgtype") == "m.image"]
        assert urls == [world.image_mxc]
        assert download(http, HOMESERVER, token, world.image_mxc) == world.image

    again = wmx("backup", "restore", "latest", "--to", DATA_HOST, site=root, check=False)
    assert again.returncode != 0
    assert "already holds data" in again.stderr and "--force" in again.stderr


def test_drill_fails_and_names_the_damage_of_a_corrupted_repository(world: World) -> None:
    repo = f"/srv/wmx-backup/{SERVER_NAME}/data"
    # Damage the middle of every segment file: whatever the archive needs is hit.
    script = (
        f"for f in $(find {repo} -type f -size +1k); do "
        'n=$(stat -c %s "$f"); '
        'printf "wmx-drill-corruption-wmx-drill-corruption" | '
        'dd of="$f" bs=1 seek=$((n / 2)) conv=notrunc status=none; done'
    )
    world.lab.run(REPO_HOST, ["sh", "-c", script])
    result = wmx(
        "backup", "drill", "--to", REPO_HOST, "--repo", REPO_HOST, site=world.root, check=False
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "drill FAILED" in output
    # It names what is damaged: the parts of the archive borg can no longer read.
    assert "archive part readable:" in result.stderr or "could not provide" in result.stderr, output
    assert "could not restore" in output or "mismatch" in output, output
    assert (
        "integrity" in output.lower() or "checksum" in output.lower() or "corrupt" in output.lower()
    ), output
