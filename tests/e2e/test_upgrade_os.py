"""`wmx upgrade os`: a Debian 12 lab host moved in place to Debian 13 (issue 13).

lab6 runs the one-host stack on Debian 12 (bookworm: PostgreSQL 15, Python 3.11, borg
1.2): database, Synapse, nginx with its certificate, the web client, the IRC bridge and
backups; lab7 (Debian 12 too) keeps its borg repository. First Debian 12's core subset:
users log in and talk, media is uploaded, an IRC channel is plumbed and carries messages
both ways, a backup archive is made and restored in place (`wmx backup restore --force`:
a message sent after the archive is gone, everything before it is back). Then `wmx
upgrade os lab6 --yes`: Debian 13 with PostgreSQL 17 (the cluster moved by `wmx upgrade
postgresql`, the old one kept and stopped), Synapse on Python 3.13; the same users log in,
history and media are intact, the signing key is unchanged, the plumbed channel flows
both ways, and a backup after the upgrade goes into the same repository on lab7. Last,
`wmx upgrade postgresql --drop-old --yes` removes the old cluster and its server. And
wmx itself runs as a controller on the upgraded host (a booted Debian 13, Python 3.13):
installed there into a venv, it renders the site byte for byte as this machine does and
its `deploy --check` against both hosts passes.

The full upgrade downloads Debian 13's packages once: they stay in the lab's apt cache
(/var/cache/wmx/apt-archives, kept by `wmx lab down`) and every later lab host is seeded
from it. The deployed Debian 12 site is kept as a snapshot (tests/e2e/deployments.py).
"""

from __future__ import annotations

import functools
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import wmx as wmx_package
from tests.e2e.clients import (
    Account,
    access_token,
    bodies,
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
from tests.e2e.conftest import drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from tests.irc_client import IrcClient
from tests.irc_flows import MatrixUser, run
from wmx.components.irc_bridge import relay_nick
from wmx.lab import Lab, ircd, rootfs
from wmx.ops.lab_glue import LAB_IRC_NETWORK, attach_site
from wmx.site import Site, load_site

HOST, REPO_HOST = "lab6", "lab7"
SERVER_NAME = "osup.test"
HOMESERVER = f"https://matrix.{SERVER_NAME}"
CHANNEL = "#wmx-osup"
SETTINGS = {"synapse.login_rate_limit.burst_count": "200"}
# The one-host stack but monitoring and TURN (their own modules cover them on Debian 13).
DROPPED = ("monitoring", "turn")
MESSAGES = [f"said on Debian 12, message {i}" for i in range(3)]
ZWSP = "\u200b"


@dataclass
class World:
    root: Path
    lab: Lab
    trust: str
    accounts: list[Account] = field(default_factory=list)
    room_id: str = ""
    relay_room: str = ""
    media: bytes = b""
    media_mxc: str = ""
    server_key: dict[str, Any] = field(default_factory=dict)
    archives: list[str] = field(default_factory=list)
    repo_url: str = ""

    @property
    def site(self) -> Site:
        return load_site(self.root)


def on_host(world: World, script: str) -> str:
    done = world.lab.run(HOST, ["sh", "-c", script], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def host_facts(world: World) -> dict[str, str]:
    """What the host runs: its release, its clusters, the running Synapse's Python."""
    return {
        "codename": on_host(world, ". /etc/os-release; echo $VERSION_CODENAME"),
        "clusters": on_host(world, "pg_lsclusters --no-header | awk '{print $1, $3, $4}'"),
        "synapse_python": on_host(
            world,
            "readlink -f /proc/$(systemctl show -p MainPID --value matrix-synapse)/exe",
        ),
        "borg": on_host(world, "borg --version"),
    }


def assert_data_intact(world: World) -> None:
    with https(world.trust) as http:
        token, *_ = [access_token(http, HOMESERVER, a) for a in world.accounts]
        assert set(MESSAGES) <= set(bodies(http, HOMESERVER, token, world.room_id))
        assert download(http, HOMESERVER, token, world.media_mxc) == world.media
        assert server_key(http, HOMESERVER) == world.server_key


def irc_round_trip(world: World, tag: str) -> None:
    """An IRC user in CHANNEL and a Matrix user in its plumbed room hear each other."""
    server = world.lab.irc_server
    assert ircd.ready(server), f"the lab's IRC server does not run ({ircd.daemon(server).logfile})"
    assert server.tls_port is not None
    config = world.site.config
    ircuser = IrcClient(
        server.listen,
        server.tls_port,
        f"osup{tag}",
        tls_cafile=world.trust,
        server_name=server.name,
    )
    ircuser.join(CHANNEL)
    ircuser.in_channel(CHANNEL, relay_nick(config), timeout=180)
    account = world.accounts[1]
    user = MatrixUser(HOMESERVER, account.user_id, account.password, world.trust)
    puppet = f"@irc_{LAB_IRC_NETWORK}_{ircuser.nick}:{SERVER_NAME}"

    async def conversation() -> None:
        await user.login()
        await user.join(world.relay_room)
        await user.say(world.relay_room, f"{tag}: from Matrix, ½ ✓")
        heard = ircuser.wait_message(CHANNEL, f"{tag}: from Matrix, ½ ✓")
        assert heard.nick == relay_nick(config)
        assert heard.text.replace(ZWSP, "").startswith(f"<{account.localpart}> ")
        ircuser.say(CHANNEL, f"{tag}: from IRC, ñ")
        await user.wait_message(world.relay_room, f"{tag}: from IRC, ñ", sender=puppet)
        await user.close()

    try:
        run(conversation())
    finally:
        ircuser.close()


def backups(world: World) -> dict[str, Any]:
    listing = json.loads(wmx("backup", "list", "-o", "json", site=world.root).stdout)
    repositories = {r["label"]: r for r in listing["repositories"]}
    return dict(repositories[REPO_HOST])


def _recipe() -> Recipe:
    return Recipe(
        name="os-upgrade",
        hosts=(HOST, REPO_HOST),
        described_in=__file__,
        # The hosts run Debian 12 whatever the tier's release: its rootfs is in the key.
        details={
            "server_name": SERVER_NAME,
            "settings": SETTINGS,
            "dropped": list(DROPPED),
            "release": "bookworm",
            "rootfs": rootfs.recipe_digest("bookworm"),
        },
    )


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, SETTINGS)
    for name in (HOST, REPO_HOST):
        lab.remove(name)
    # Only these two hosts (as booting a snapshot does), not every lower-numbered one:
    # `Lab.up(7)` would copy and boot five hosts this module never uses.
    lab._up([HOST, REPO_HOST], [f"{HOST}=bookworm", f"{REPO_HOST}=bookworm"])
    attach_site(root, [lab.host(HOST), lab.host(REPO_HOST)], lab)
    drop_groups(root, *DROPPED)
    return wmx("deploy", site=root)


@pytest.fixture(scope="module")
def world(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sites") / "os-upgrade"
    deployed_site(
        _recipe(),
        lab,
        root,
        functools.partial(_first_deploy, lab),
        on_restore=lambda _: wait_for_homeserver(HOMESERVER, lab.trust_bundle_path),
    )
    yield World(root=root, lab=lab, trust=str(lab.trust_bundle_path))


def test_debian_12_core_subset(world: World) -> None:
    facts = host_facts(world)
    assert facts["codename"] == "bookworm", facts
    assert facts["clusters"] == "15 5432 online", facts
    assert facts["synapse_python"].startswith("/usr/bin/python3.11"), facts
    assert facts["borg"].startswith("borg 1.2"), facts
    site = world.site
    world.accounts = [create_account(site, name) for name in ("ada", "grace")]
    world.media = secrets.token_bytes(60_000)
    with https(world.trust) as http:
        token = access_token(http, HOMESERVER, world.accounts[0])
        world.room_id = create_room(
            http, HOMESERVER, token, name="kept across Debian releases", preset="public_chat"
        )
        grace = access_token(http, HOMESERVER, world.accounts[1])
        join(http, HOMESERVER, grace, world.room_id)
        world.media_mxc = upload(
            http, HOMESERVER, token, world.media, "data.bin", "application/octet-stream"
        )
        for body in MESSAGES:
            send_text(http, HOMESERVER, token, world.room_id, body)
        assert set(MESSAGES) <= set(bodies(http, HOMESERVER, grace, world.room_id))
        world.server_key = server_key(http, HOMESERVER)
    plumbed = json.loads(wmx("irc", "plumb", CHANNEL, "-o", "json", site=world.root).stdout)
    assert plumbed[0]["outcome"] in ("plumbed", "already plumbed"), plumbed
    world.relay_room = str(plumbed[0]["room_id"])
    irc_round_trip(world, "d12")


def test_debian_12_backup_and_restore(world: World) -> None:
    wmx("backup", "run", site=world.root)
    repo = backups(world)
    world.archives = [a["name"] for a in repo["archives"]]
    world.repo_url = repo["url"]
    assert world.archives, repo
    after = "said after the archive was made: gone after the restore"
    with https(world.trust) as http:
        token = access_token(http, HOMESERVER, world.accounts[0])
        send_text(http, HOMESERVER, token, world.room_id, after)
    restored = wmx("backup", "restore", "latest", "--to", HOST, "--force", site=world.root)
    assert "Restore complete" in words(restored.stdout), restored.stdout
    with https(world.trust) as http:
        wait_until(
            lambda: http.get(f"{HOMESERVER}/_matrix/client/versions").status_code == 200,
            "Synapse after the restore",
        )
        token = access_token(http, HOMESERVER, world.accounts[0])
        seen = bodies(http, HOMESERVER, token, world.room_id)
        assert after not in seen, seen
    assert_data_intact(world)


def words(text: str) -> str:
    """``text`` with its line breaks undone (the console wraps long lines)."""
    return " ".join(text.split())


def test_upgrade_os_checks_first(world: World) -> None:
    out = words(wmx("upgrade", "os", HOST, site=world.root).stdout)
    assert "Debian bookworm → trixie" in out, out
    assert "no held packages" in out and "apt sources are Debian's only" in out, out
    assert "Would move" in out, out
    assert host_facts(world)["codename"] == "bookworm"


def test_upgrade_os_moves_the_host_to_debian_13(world: World) -> None:
    result = wmx("upgrade", "os", HOST, "--yes", site=world.root)
    output = words(result.stdout + result.stderr)
    assert "passed the gate" in words(result.stdout), output
    # Progress lines on the long steps.
    assert "package(s) unpacked" in output and f"{HOST} is back" in output, output
    assert "PostgreSQL 15 → 17" in output, output
    facts = host_facts(world)
    assert facts["codename"] == "trixie", facts
    clusters = facts["clusters"].splitlines()
    # PostgreSQL 17 serves Synapse's port; 15 is kept, stopped, until --drop-old.
    assert "17 5432 online" in clusters and any(
        c.startswith("15 ") and c.endswith(" down") for c in clusters
    ), clusters
    assert facts["synapse_python"].startswith("/usr/bin/python3.13"), facts
    assert facts["borg"].startswith("borg 1.4"), facts
    # apt's sources name trixie; the files before are kept beside them.
    assert "trixie" in on_host(world, "cat /etc/apt/sources.list")
    assert "bookworm" in on_host(world, "cat /etc/apt/sources.list.wmx-bookworm")
    assert_data_intact(world)


def test_after_the_upgrade_the_channel_flows_and_backups_continue(world: World) -> None:
    irc_round_trip(world, "d13")
    wmx("backup", "run", site=world.root)
    repo = backups(world)
    assert repo["url"] == world.repo_url, repo
    names = [a["name"] for a in repo["archives"]]
    # Every archive before the upgrade is there; the upgrade's own and this one were added.
    assert names[: len(world.archives)] == world.archives, names
    assert len(names) >= len(world.archives) + 2, names


def test_drop_old_removes_the_old_cluster(world: World) -> None:
    result = wmx("upgrade", "postgresql", "--drop-old", "--yes", site=world.root)
    assert "Dropped 15/main" in words(result.stdout), result.stdout + result.stderr
    assert host_facts(world)["clusters"] == "17 5432 online"
    installed = on_host(world, "dpkg-query -W -f '${db:Status-Abbrev}' postgresql-15 || true")
    assert not installed.startswith("ii"), installed
    assert_data_intact(world)


SITE_ON_HOST = "/root/osup-site"  # not under /tmp: Debian 13 mounts a tmpfs there


def _copy_into_host(world: World, source: Path, to: str | None = None, ignore: Any = None) -> None:
    """``source`` copied onto the host's disk, at ``to`` or else at the same path."""
    target = world.lab.paths.host_root(HOST) / (to or str(source.resolve())).lstrip("/")
    if source.is_dir():
        shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True, symlinks=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _tree(base: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()
    }


def test_wmx_runs_as_a_controller_on_the_debian_13_host(world: World) -> None:
    """wmx installed on the upgraded host (booted Debian 13, its Python 3.13): it renders
    the site byte for byte as this machine does, and its dry-run deploy reaches both hosts
    over SSH and passes."""
    source = Path(wmx_package.__file__).resolve().parent.parent
    for item in ("pyproject.toml", "README.md", "wmx", "templates", "playbooks", "inventories"):
        _copy_into_host(
            world,
            source / item,
            f"/root/wmx-src/{item}",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    site = world.site
    # The site's directory (without the runs' logs and the build) and what it names on
    # this machine, at the same paths: the lab's SSH key and known hosts, the web
    # client's archive.
    _copy_into_host(world, world.root, SITE_ON_HOST, ignore=shutil.ignore_patterns("runs", "build"))
    for path in (world.lab.ssh_key_path, world.lab.known_hosts_path):
        _copy_into_host(world, path)
    if site.config.web_client.archive is not None:
        _copy_into_host(world, Path(site.config.web_client.archive))
    venv = "/opt/wmx-controller"
    on_host(world, f"python3 -m venv {venv} && {venv}/bin/pip install -q /root/wmx-src")
    assert on_host(world, f"{venv}/bin/python --version").startswith("Python 3.13")
    wmx("render", site=world.root)
    on_host(world, f"{venv}/bin/wmx --site {SITE_ON_HOST} render")
    here = _tree(world.root / "build")
    there = _tree(world.lab.paths.host_root(HOST) / SITE_ON_HOST.lstrip("/") / "build")
    assert here.keys() == there.keys()
    assert [name for name in here if here[name] != there[name]] == []
    checked = world.lab.run(
        HOST,
        ["sh", "-c", f"{venv}/bin/wmx --site {SITE_ON_HOST} deploy --check"],
        check=False,
        timeout=900,
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
