"""`wmx upgrade` on a real lab host with real releases from PyPI (issue 12).

Deploy Synapse 1.160.0 on lab3 (database, homeserver, proxy, the IRC bridge —
Heisenbridge 1.15.3 — the web client — Cinny 4.2.2 from the shared release archive — and
backups; lab2 holds the backup repository and is the spare host) with users, a room with
messages and an uploaded file, and a channel of the lab's IRC server (ngircd) plumbed
into a room with `wmx irc plumb`, a real IRC client and a real Matrix client talking
through it. `wmx upgrade plan` shows every part in one call: Synapse's way to the release
wmx pins, the bridge's to the one wmx pins, the web client at its target. A real
failure: the new release's venv has a broken dependency (its Twisted package is gone, as
a full disk during an install leaves it; pip still counts it installed), so the new
release cannot start: `apply` rolls back by itself, exits 1 naming the health check, and
the server answers on 1.160.0 with its data. `rehearse` restores the latest backup (the
one that apply took) onto lab2 and upgrades it there. With the venv repaired, `apply`
passes: the same users log in, history and media are there, the IRC channel flows both
ways, `wmx status` shows the upgrade. `rollback` then returns to 1.160.0 (the database is
kept: both releases' schema rule), the channel still flows both ways.

The bridge: `apply --component irc-bridge` installs Heisenbridge 1.15.4 (PyPI) beside
1.15.3 and switches; the bridge answers Synapse's ping and relays both ways; its
rollback returns to 1.15.3, relaying again. The web client: the lab has one real Cinny
release (../shared/clients, 4.2.2) and no way to GitHub, so its second release is that
same app repacked by the lab under the version 4.2.2-wmxlab.1 (wmx.lab.cinny.repack:
only the top directory's name and the `version` file differ). `apply --component
web-client --archive` installs it through wmx's own path (wmx.yaml, the element and nginx
roles, the gate); from outside, nginx serves the new version with the previous release
kept behind the `previous` link; its rollback serves 4.2.2 again.

One deployment serves the whole module (booted from a snapshot in a later session,
tests/e2e/deployments.py); lab2 and lab3 are removed first.
"""

from __future__ import annotations

import functools
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import (
    Account,
    access_token,
    bodies,
    create_account,
    create_room,
    download,
    https,
    send_text,
    upload,
)
from tests.e2e.conftest import drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from tests.irc_client import IrcClient
from tests.irc_flows import MatrixUser, run
from wmx.components.element import ELEMENT_CURRENT_LINK, ELEMENT_PREVIOUS_LINK
from wmx.components.irc_bridge import HEISENBRIDGE_CURRENT_LINK, relay_nick
from wmx.lab import Lab, ircd
from wmx.lab.cinny import cinny_archive, repack
from wmx.ops.lab_glue import LAB_IRC_NETWORK, attach_site
from wmx.site import load_site
from wmx.site.releases import DEFAULT_HEISENBRIDGE_VERSION, DEFAULT_SYNAPSE_VERSION

HOST, SPARE = "lab3", "lab2"
SERVER_NAME = "upgrade.test"
HOMESERVER = f"https://matrix.{SERVER_NAME}"
OLD = "1.160.0"
NEW = DEFAULT_SYNAPSE_VERSION
OLD_BRIDGE, NEW_BRIDGE = "1.15.3", DEFAULT_HEISENBRIDGE_VERSION
ONLY = ["base", "postgresql", "synapse", "nginx", "irc_bridge", "element", "backup_repo", "backup"]
SETTINGS = {
    "synapse.version": OLD,
    "synapse.login_rate_limit.burst_count": "200",
    "irc_bridge.version": OLD_BRIDGE,
}
# The lab's real web client: the shared Cinny release archive, pinned by its checksum.
CLIENT = "cinny 4.2.2 from the shared archive"
MESSAGES = [f"said on {OLD}, message {i}" for i in range(3)]
CHANNEL = "#wmx-upgrade"
# The web client's second release: the lab's Cinny repacked under a test version label.
NEW_CLIENT = "4.2.2-wmxlab.1"


@dataclass
class World:
    root: Path
    lab: Lab
    trust: str
    accounts: list[Account] = field(default_factory=list)
    room_id: str = ""
    image: bytes = b""
    image_mxc: str = ""
    relay_room: str = ""  # the room CHANNEL is plumbed into
    relay_user: Account | None = None


def running_release(world: World) -> str:
    with https(world.trust) as http:
        answer = http.get(f"{HOMESERVER}/_matrix/federation/v1/version")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["server"]["version"]).split(" ")[0]


def on_host(world: World, script: str) -> str:
    done = world.lab.run(HOST, ["sh", "-c", script], check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def relay_both_ways(world: World, tag: str) -> None:
    """A person on IRC and one on Matrix talk through the plumbed channel: each sees
    what the other said (the relay speaks for the Matrix user on IRC; the IRC user's
    puppet speaks on Matrix)."""
    server = world.lab.irc_server
    assert ircd.ready(server) and server.tls_port is not None, "the lab's IRC server is down"
    site = load_site(world.root)
    nick = f"up{tag}"
    irc = IrcClient(
        server.listen, server.tls_port, nick, tls_cafile=world.trust, server_name=server.name
    )
    try:
        irc.join(CHANNEL)
        irc.in_channel(CHANNEL, relay_nick(site.config), timeout=180)
        assert world.relay_user is not None
        user = MatrixUser(
            HOMESERVER, world.relay_user.user_id, world.relay_user.password, world.trust
        )
        puppet = f"@irc_{LAB_IRC_NETWORK}_{nick}:{SERVER_NAME}"

        async def conversation() -> None:
            await user.login()
            await user.join(world.relay_room)
            await user.say(world.relay_room, f"{tag}: from Matrix")
            irc.wait_message(CHANNEL, f"{tag}: from Matrix", timeout=90)
            irc.say(CHANNEL, f"{tag}: from IRC")
            await user.wait_message(world.relay_room, f"{tag}: from IRC", sender=puppet)
            await user.close()

        run(conversation())
    finally:
        irc.close()


def status_says(world: World, kind: str, component: str, old: str, new: str) -> None:
    """`wmx status` shows the last upgrade: its component, from → to, outcome and when
    (the record's end), whatever the hosts' health says."""
    record = json.loads((world.root / ".wmx" / "upgrades" / "last.json").read_text())
    assert record["component"] == component and record["status"] == kind, record
    shown = " ".join(wmx("status", site=world.root, check=False).stdout.split())
    said = f"last upgrade: {component} {old} → {new} {kind} at {record['finished']}"
    assert said in shown, shown


def link_of(world: World, link: str) -> str:
    return on_host(world, f"readlink {link}").strip().rsplit("/", 1)[-1]


UPGRADE_SITE = Recipe(
    name="upgrade",
    hosts=(HOST, SPARE),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "only": ONLY, "settings": SETTINGS, "client": CLIENT},
)


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, SETTINGS)
    cinny = cinny_archive()
    release = {"kind": "cinny", "archive": str(cinny.path), "sha256": cinny.sha256}
    wmx("config", "set", "web_client", json.dumps(release), site=root)
    for name in (HOST, SPARE):
        lab.remove(name)
    lab.up(3)
    attach_site(root, [lab.host(HOST), lab.host(SPARE)], lab)
    drop_groups(root, "monitoring", "turn")
    return wmx("deploy", *[a for c in ONLY for a in ("--only", c)], site=root)


@pytest.fixture(scope="module")
def world(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("sites") / "upgrade"
    deployed_site(
        UPGRADE_SITE,
        lab,
        root,
        functools.partial(_first_deploy, lab),
        on_restore=lambda _: wait_for_homeserver(HOMESERVER, lab.trust_bundle_path),
    )
    wait_for_homeserver(HOMESERVER, lab.trust_bundle_path)
    yield World(root=root, lab=lab, trust=str(lab.trust_bundle_path))


def test_data_on_the_old_release(world: World) -> None:
    assert running_release(world) == OLD
    site = load_site(world.root)
    world.accounts = [create_account(site, name) for name in ("ada", "grace")]
    world.image = secrets.token_bytes(50_000)
    with https(world.trust) as http:
        token = access_token(http, HOMESERVER, world.accounts[0])
        world.room_id = create_room(http, HOMESERVER, token, name="kept across upgrades")
        world.image_mxc = upload(
            http, HOMESERVER, token, world.image, "data.bin", "application/octet-stream"
        )
        for body in MESSAGES:
            send_text(http, HOMESERVER, token, world.room_id, body)


def assert_data_intact(world: World) -> None:
    with https(world.trust) as http:
        # The same users log in with their passwords.
        token, *_others = [access_token(http, HOMESERVER, a) for a in world.accounts]
        seen = bodies(http, HOMESERVER, token, world.room_id)
        assert all(body in seen for body in MESSAGES)
        assert download(http, HOMESERVER, token, world.image_mxc) == world.image


def test_a_plumbed_irc_channel_on_the_old_release(world: World) -> None:
    out = json.loads(wmx("irc", "plumb", CHANNEL, "-o", "json", site=world.root).stdout)
    assert out[0]["outcome"] in ("plumbed", "already plumbed"), out
    world.relay_room = str(out[0]["room_id"])
    world.relay_user = create_account(load_site(world.root), "relayed")
    relay_both_ways(world, "old")


def test_plan_shows_every_part(world: World) -> None:
    result = wmx("upgrade", "plan", "-o", "json", site=world.root)
    overview: dict[str, Any] = json.loads(result.stdout)
    assert overview["ok"] is True
    parts = overview["components"]
    assert set(parts) == {"synapse", "irc-bridge", "web-client"}
    plan = parts["synapse"]
    assert plan["running"] == OLD and plan["target"] == NEW and plan["ok"] is True
    # Both releases' own schema versions: 94/84 → 94/84, the old release reads the result.
    assert plan["database_rule"] == "keeps"
    assert {c["what"] for c in plan["checks"]} == {"python", "postgresql"}
    bridge = parts["irc-bridge"]
    assert (bridge["running"], bridge["target"], bridge["ok"]) == (OLD_BRIDGE, NEW_BRIDGE, True)
    # The web client serves the release wmx.yaml names: nothing to do, not a failure.
    client = parts["web-client"]
    assert client["running"].startswith("cinny-4.2.2-") and client["nothing_to_do"] is True


def test_a_release_that_cannot_start_is_rolled_back(world: World) -> None:
    venv = f"/opt/synapse/venvs/{NEW}"
    on_host(
        world,
        f"python3 -m venv {venv} && {venv}/bin/pip install -q "
        f"'matrix-synapse[postgres,url-preview,oidc]=={NEW}' && "
        f"rm -rf {venv}/lib/python3*/site-packages/twisted",
    )
    result = wmx("upgrade", "apply", "--gate-timeout", "30", site=world.root, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "health" in result.stderr and f"rolled back to {OLD}" in result.stderr
    record = json.loads((world.root / ".wmx" / "upgrades" / "last.json").read_text())
    # /health never answered OK, so nothing after it was checked.
    assert record["status"] == "rolled-back" and record["failed"][0] == "health"
    # The fresh backup archive is named after the upgrade.
    assert f"synapse-{OLD}-to-{NEW}" in str(record["backup_archive"])
    assert running_release(world) == OLD
    assert load_site(world.root).config.synapse.version == OLD
    assert_data_intact(world)


def test_rehearse_upgrades_a_copy_on_the_spare_host(world: World) -> None:
    # The latest archive is the one the failed apply took; the live server is only read.
    result = wmx("upgrade", "rehearse", "--on", SPARE, "-o", "json", site=world.root)
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["host"] == SPARE, report
    assert report["upgrade"]["from_version"] == OLD and report["upgrade"]["to_version"] == NEW
    assert report["upgrade"]["status"] == "applied"
    assert running_release(world) == OLD
    assert load_site(world.root).config.synapse.version == OLD


def test_apply_passes_and_keeps_the_data(world: World) -> None:
    # Repair the broken venv the way an operator would: reinstall the package pip kept.
    venv = f"/opt/synapse/venvs/{NEW}"
    on_host(
        world,
        f"{venv}/bin/pip install -q --no-deps --force-reinstall "
        f"\"$({venv}/bin/pip freeze | grep -i '^twisted==')\"",
    )
    wmx("upgrade", "apply", site=world.root)
    assert running_release(world) == NEW
    assert load_site(world.root).config.synapse.version == NEW
    assert_data_intact(world)
    status_says(world, "applied", "synapse", OLD, NEW)
    relay_both_ways(world, "new")


def test_rollback_returns_to_the_old_release(world: World) -> None:
    result = wmx("upgrade", "rollback", "--yes", site=world.root)
    assert "lost: nothing" in " ".join(result.stdout.split())
    assert running_release(world) == OLD
    assert load_site(world.root).config.synapse.version == OLD
    assert_data_intact(world)
    status_says(world, "rolled-back-by-hand", "synapse", NEW, OLD)
    relay_both_ways(world, "back")


def test_the_bridge_upgrade_and_its_rollback(world: World) -> None:
    result = wmx("upgrade", "apply", "--component", "irc-bridge", site=world.root)
    assert f"irc-bridge {NEW_BRIDGE} runs (was {OLD_BRIDGE})" in " ".join(result.stdout.split())
    assert link_of(world, HEISENBRIDGE_CURRENT_LINK) == NEW_BRIDGE
    # The old release stays installed beside it, for the way back.
    on_host(world, f"test -x /opt/heisenbridge/venvs/{OLD_BRIDGE}/bin/heisenbridge")
    assert load_site(world.root).config.irc_bridge.version == NEW_BRIDGE
    status = json.loads(wmx("irc", "status", "-o", "json", site=world.root).stdout)
    assert status["up"] is True, status
    status_says(world, "applied", "irc-bridge", OLD_BRIDGE, NEW_BRIDGE)
    relay_both_ways(world, "bridge")

    wmx("upgrade", "rollback", "--component", "irc-bridge", "--yes", site=world.root)
    assert link_of(world, HEISENBRIDGE_CURRENT_LINK) == OLD_BRIDGE
    assert load_site(world.root).config.irc_bridge.version == OLD_BRIDGE
    status_says(world, "rolled-back-by-hand", "irc-bridge", NEW_BRIDGE, OLD_BRIDGE)
    relay_both_ways(world, "bridgeback")


def served(world: World, path: str) -> bytes:
    site = load_site(world.root)
    with https(world.trust) as http:
        answer = http.get(f"https://{site.config.web_client.host}{path}")
    assert answer.status_code == 200, answer.text[:300]
    return answer.content


def test_the_web_client_upgrade_and_its_rollback(world: World, tmp_path: Path) -> None:
    shared = cinny_archive()
    # Said plainly: the same Cinny 4.2.2, repacked by the lab under a test version label
    # (the only other release the lab can have); wmx installs it as any release archive.
    newer = repack(shared, tmp_path, NEW_CLIENT)
    old_dir = link_of(world, ELEMENT_CURRENT_LINK)
    assert served(world, "/version").strip() == b"4.2.2"
    result = wmx(
        "upgrade", "apply", "--component", "web-client", "--archive", str(newer.path),
        site=world.root,
    )  # fmt: skip
    assert f"web-client cinny-{NEW_CLIENT}-" in " ".join(result.stdout.split())
    new_dir = link_of(world, ELEMENT_CURRENT_LINK)
    assert new_dir == f"cinny-{NEW_CLIENT}-{newer.sha256[:12]}"
    # From outside: nginx serves the new release; the one before is kept as `previous`.
    assert served(world, "/version").strip() == NEW_CLIENT.encode()
    assert b"<html" in served(world, "/").lower()
    assert link_of(world, ELEMENT_PREVIOUS_LINK) == old_dir
    on_host(world, f"test -s {ELEMENT_PREVIOUS_LINK}/index.html")
    settings = load_site(world.root).config.web_client
    assert (settings.version, settings.sha256) == (NEW_CLIENT, newer.sha256)
    status_says(world, "applied", "web-client", old_dir, new_dir)

    wmx("upgrade", "rollback", "--component", "web-client", "--yes", site=world.root)
    assert link_of(world, ELEMENT_CURRENT_LINK) == old_dir
    assert link_of(world, ELEMENT_PREVIOUS_LINK) == new_dir
    assert served(world, "/version").strip() == b"4.2.2"
    settings = load_site(world.root).config.web_client
    assert (settings.archive, settings.sha256) == (str(shared.path), shared.sha256)
    status_says(world, "rolled-back-by-hand", "web-client", new_dir, old_dir)
