"""`wmx upgrade` on a real lab host with real releases from PyPI (issue 12).

Deploy Synapse 1.160.0 on lab3 (database, homeserver, proxy and backups; lab2 holds the
backup repository and is the spare host) with users, a room with messages and an
uploaded file. `wmx upgrade plan` shows the way to the release wmx pins. A real failure:
the new release's venv has a broken dependency (its Twisted package is gone, as a full
disk during an install leaves it; pip still counts it installed), so the new release
cannot start: `apply` rolls back by itself, exits 1 naming the health check, and the
server answers on 1.160.0 with its data. `rehearse` restores the latest backup (the one
that apply took) onto lab2 and upgrades it there. With the venv repaired, `apply`
passes: the same users log in, history and media are there. `rollback` then returns to
1.160.0 (the database is kept: both releases' schema rule).

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
from urllib.parse import quote

import pytest

from tests.e2e.clients import Account, access_token, create_account, https
from tests.e2e.conftest import drop_groups, new_site, wait_for_homeserver, wmx
from tests.e2e.deployments import Recipe, deployed_site
from wmx.lab import Lab
from wmx.ops.lab_glue import attach_site
from wmx.site import load_site
from wmx.site.releases import DEFAULT_SYNAPSE_VERSION

HOST, SPARE = "lab3", "lab2"
SERVER_NAME = "upgrade.test"
HOMESERVER = f"https://matrix.{SERVER_NAME}"
OLD = "1.160.0"
NEW = DEFAULT_SYNAPSE_VERSION
ONLY = ["base", "postgresql", "synapse", "nginx", "backup_repo", "backup"]
SETTINGS = {"synapse.version": OLD, "synapse.login_rate_limit.burst_count": "200"}
MESSAGES = [f"said on {OLD}, message {i}" for i in range(3)]


@dataclass
class World:
    root: Path
    lab: Lab
    trust: str
    accounts: list[Account] = field(default_factory=list)
    room_id: str = ""
    image: bytes = b""
    image_mxc: str = ""


def authed(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def running_release(world: World) -> str:
    with https(world.trust) as http:
        answer = http.get(f"{HOMESERVER}/_matrix/federation/v1/version")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["server"]["version"]).split(" ")[0]


def on_host(world: World, script: str) -> str:
    done = world.lab.run(HOST, ["sh", "-c", script], check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


UPGRADE_SITE = Recipe(
    name="upgrade",
    hosts=(HOST, SPARE),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "only": ONLY, "settings": SETTINGS},
)


def _first_deploy(lab: Lab, root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, SETTINGS)
    for name in (HOST, SPARE):
        lab.remove(name)
    lab.up(3)
    attach_site(root, [lab.host(HOST), lab.host(SPARE)], lab)
    drop_groups(root, "monitoring", "irc_bridge", "turn")
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
        room = http.post(
            f"{HOMESERVER}/_matrix/client/v3/createRoom",
            json={"name": "kept across upgrades"},
            headers=authed(token),
        )
        assert room.status_code == 200, room.text
        world.room_id = room.json()["room_id"]
        upload = http.post(
            f"{HOMESERVER}/_matrix/media/v3/upload",
            params={"filename": "data.bin"},
            content=world.image,
            headers={**authed(token), "Content-Type": "application/octet-stream"},
        )
        assert upload.status_code == 200, upload.text
        world.image_mxc = upload.json()["content_uri"]
        for n, body in enumerate(MESSAGES):
            sent = http.put(
                f"{HOMESERVER}/_matrix/client/v3/rooms/{quote(world.room_id)}"
                f"/send/m.room.message/t{n}",
                json={"msgtype": "m.text", "body": body},
                headers=authed(token),
            )
            assert sent.status_code == 200, sent.text


def assert_data_intact(world: World) -> None:
    with https(world.trust) as http:
        # The same users log in with their passwords.
        token, *_others = [access_token(http, HOMESERVER, a) for a in world.accounts]
        history = http.get(
            f"{HOMESERVER}/_matrix/client/v3/rooms/{quote(world.room_id)}/messages",
            params={"dir": "b", "limit": "50"},
            headers=authed(token),
        )
        assert history.status_code == 200, history.text
        bodies = [e["content"].get("body") for e in history.json()["chunk"]]
        assert all(body in bodies for body in MESSAGES)
        server, media_id = world.image_mxc.removeprefix("mxc://").split("/", 1)
        media = http.get(
            f"{HOMESERVER}/_matrix/client/v1/media/download/{server}/{media_id}",
            headers=authed(token),
        )
        assert media.status_code == 200 and media.content == world.image


def test_plan_shows_the_way(world: World) -> None:
    result = wmx("upgrade", "plan", "-o", "json", site=world.root)
    plan: dict[str, Any] = json.loads(result.stdout)
    assert plan["running"] == OLD and plan["target"] == NEW and plan["ok"] is True
    # Both releases' own schema versions: 94/84 → 94/84, the old release reads the result.
    assert plan["database_rule"] == "keeps"
    assert {c["what"] for c in plan["checks"]} == {"python", "postgresql"}


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
    status = json.loads((world.root / ".wmx" / "upgrades" / "last.json").read_text())
    assert status["status"] == "applied" and status["to_version"] == NEW


def test_rollback_returns_to_the_old_release(world: World) -> None:
    result = wmx("upgrade", "rollback", "--yes", site=world.root)
    assert "lost: nothing" in " ".join(result.stdout.split())
    assert running_release(world) == OLD
    assert load_site(world.root).config.synapse.version == OLD
    assert_data_intact(world)
