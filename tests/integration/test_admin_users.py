"""`wmx user …` against a real Synapse; each test checks the effect as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from ruamel.yaml import YAML

from tests.integration.conftest import AdminLab
from wmx.admin.client import SynapseAdmin

pytestmark = pytest.mark.integration

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a command that sends anything fails with 1


def _password_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "password"
    path.write_text(value + "\n")
    return path


def test_list_filters_and_shows_last_seen(admin_lab: AdminLab) -> None:
    alice = admin_lab.account("alice")
    admin_lab.token_of(alice)
    everyone = json.loads(admin_lab.wmx("user", "list", "-o", "json").stdout)
    assert alice.user_id in {u["name"] for u in everyone}
    assert all("last_seen_ts" in u for u in everyone)

    table = admin_lab.wmx("user", "list").stdout
    assert "last seen" in table and alice.user_id in table

    admins = json.loads(admin_lab.wmx("user", "list", "--admins", "-o", "json").stdout)
    assert "@wmx-admin:wmx.test" in {u["name"] for u in admins}
    assert alice.user_id not in {u["name"] for u in admins}

    named = json.loads(
        admin_lab.wmx("user", "list", "--name", alice.localpart, "-o", "json").stdout
    )
    assert [u["name"] for u in named] == [alice.user_id]

    limited = json.loads(admin_lab.wmx("user", "list", "--limit", "1", "-o", "json").stdout)
    assert len(limited) == 1


def test_list_deactivated_only_when_asked(admin_lab: AdminLab) -> None:
    gone = admin_lab.account("gone")
    admin_lab.wmx("user", "deactivate", gone.user_id, "--yes")
    default = json.loads(admin_lab.wmx("user", "list", "-o", "json").stdout)
    included = YAML(typ="safe").load(
        admin_lab.wmx("user", "list", "--deactivated", "-o", "yaml").stdout
    )
    assert gone.user_id not in {u["name"] for u in default}
    assert gone.user_id in {u["name"] for u in included}


def test_show_user(admin_lab: AdminLab) -> None:
    bob = admin_lab.account("bob")
    token = admin_lab.token_of(bob)
    room_id = admin_lab.create_room(token, name="bob's room")
    shown = json.loads(admin_lab.wmx("user", "show", bob.localpart, "-o", "json").stdout)
    assert shown["name"] == bob.user_id
    assert shown["joined_rooms"] == [room_id]
    assert shown["creation_ts"] > time.time() * 1000 - 3_600_000
    table = admin_lab.wmx("user", "show", bob.user_id).stdout
    assert "shadow-banned" in table and bob.user_id in table


def test_create_with_password_file_then_log_in(admin_lab: AdminLab, tmp_path: Path) -> None:
    password = "correct horse battery staple"
    result = admin_lab.wmx(
        "user",
        "create",
        "carol",
        "--display-name",
        "Carol",
        "--password-file",
        str(_password_file(tmp_path, password)),
    )
    assert "@carol:wmx.test" in result.stdout
    assert password not in result.stdout
    assert admin_lab.login("@carol:wmx.test", password).status_code == 200
    again = admin_lab.wmx("user", "create", "carol", "--generate-password", expect=2)
    assert "@carol:wmx.test already exists" in again.stderr


def test_create_admin_with_generated_password(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    result = admin_lab.wmx("user", "create", "dave", "--admin", "--generate-password")
    password = re.search(r"Password for @dave:wmx.test: (\S+)", result.stdout)
    assert password, result.stdout
    assert admin_lab.login("dave", password.group(1)).status_code == 200
    assert admin_api.users.get("@dave:wmx.test")["admin"] is True


def test_create_with_prompted_password(admin_lab: AdminLab) -> None:
    password = "typed-twice-secret"
    result = admin_lab.wmx(
        "user", "create", "erin", "--email", "erin@example.org", input=f"{password}\n{password}\n"
    )
    assert password not in result.stdout
    assert admin_lab.login("erin", password).status_code == 200


def test_import_is_checked_whole_and_rerunnable(
    admin_lab: AdminLab, admin_api: SynapseAdmin, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("localpart,display_name,admin\nfrank,Frank,no\nNot Valid,X,no\ngina,G,maybe\n")
    result = admin_lab.wmx("user", "import", str(bad), "--url", NOWHERE, expect=2)
    assert "bad.csv:3" in result.stderr and "'not valid'" in result.stderr.lower()
    assert "bad.csv:4" in result.stderr and "maybe" in result.stderr
    assert not admin_api.users.exists("@frank:wmx.test")

    good = tmp_path / "members.csv"
    good.write_text(
        "localpart,display_name,email,admin,password\n"
        "frank,Frank,frank@example.org,no,\n"
        "gina,Gina,,yes,gina-chosen-password\n"
    )
    out = tmp_path / "passwords.csv"
    first = admin_lab.wmx("user", "import", str(good), "--passwords-out", str(out), "-o", "json")
    assert [r["result"] for r in json.loads(first.stdout)] == ["created", "created"]
    assert out.stat().st_mode & 0o777 == 0o600
    user_id, frank_password = out.read_text().strip().split(",")
    assert user_id == "@frank:wmx.test"
    assert admin_lab.login("frank", frank_password).status_code == 200
    assert admin_lab.login("gina", "gina-chosen-password").status_code == 200
    assert admin_api.users.get("@gina:wmx.test")["admin"] is True

    second = admin_lab.wmx("user", "import", str(good))
    assert second.stdout.count("exists") == 2 and "0 created" in second.stdout


def test_reset_password_logs_out_and_new_password_works(
    admin_lab: AdminLab, tmp_path: Path
) -> None:
    henry = admin_lab.account("henry")
    old_token = admin_lab.token_of(henry)
    new = "a-brand-new-password"
    admin_lab.wmx(
        "user",
        "reset-password",
        henry.user_id,
        "--password-file",
        str(_password_file(tmp_path, new)),
        "--yes",
    )
    assert admin_lab.login(henry.user_id, henry.password).status_code == 403
    assert admin_lab.login(henry.user_id, new).status_code == 200
    with admin_lab.client(old_token) as http:
        assert http.get("/_matrix/client/v3/account/whoami").status_code == 401


def test_admin_on_and_off(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    ivy = admin_lab.account("ivy")
    admin_lab.wmx("user", "admin", ivy.user_id, "on")
    assert admin_api.users.get(ivy.user_id)["admin"] is True
    admin_lab.wmx("user", "admin", ivy.user_id, "off")
    assert admin_api.users.get(ivy.user_id)["admin"] is False


def test_deactivate_and_erase(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    jack = admin_lab.account("jack")
    assert admin_lab.login(jack.user_id, jack.password).status_code == 200
    refused = admin_lab.wmx("user", "deactivate", jack.user_id, input="n\n", expect=1)
    assert "Deactivate" in refused.stderr and "Deactivate" not in refused.stdout
    assert admin_lab.login(jack.user_id, jack.password).status_code == 200

    admin_lab.wmx("user", "deactivate", jack.user_id, "--erase", "--yes")
    assert admin_lab.login(jack.user_id, jack.password).status_code == 403
    details = admin_api.users.get(jack.user_id)
    assert details["deactivated"] is True and details["erased"] is True


def test_an_answer_piped_in_leaves_stdout_to_the_json(admin_lab: AdminLab) -> None:
    """`echo y | wmx user deactivate X -o json | jq`, the installed command in pipes: the
    question goes to stderr; it had stood in front of the JSON on stdout."""
    kim = admin_lab.account("kim")
    wmx = [str(Path(sys.executable).with_name("wmx")), "--site", str(admin_lab.site.paths.root)]
    done = subprocess.run(
        [*wmx, "user", "deactivate", kim.user_id, "-o", "json"],
        input="y\n",
        capture_output=True,
        text=True,
        env={**os.environ, "WMX_ADMIN_URL": admin_lab.url},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deactivated"] is True
    assert done.stderr.startswith(f"Deactivate {kim.user_id}?"), done.stderr


def test_bulk_deactivate_by_regex(admin_lab: AdminLab, admin_api: SynapseAdmin) -> None:
    spammers = [admin_lab.account("spam") for _ in range(3)]
    keeper = admin_lab.account("keeper")
    spam_admin = admin_lab.account("spam", admin=True)
    preview = json.loads(
        admin_lab.wmx("user", "deactivate", "--regex", "spam-.*", "--dry-run", "-o", "json").stdout
    )
    assert {r["user_id"] for r in preview} == {s.user_id for s in spammers}
    assert not admin_api.users.get(spammers[0].user_id)["deactivated"]

    admin_lab.wmx("user", "deactivate", "--regex", r"@spam-[0-9a-f]+:wmx\.test", "--yes")
    for spammer in spammers:
        assert admin_lab.login(spammer.user_id, spammer.password).status_code == 403
    assert admin_lab.login(keeper.user_id, keeper.password).status_code == 200
    assert admin_lab.login(spam_admin.user_id, spam_admin.password).status_code == 200


def test_lock_and_unlock(admin_lab: AdminLab) -> None:
    kim = admin_lab.account("kim")
    token = admin_lab.token_of(kim)
    admin_lab.wmx("user", "lock", kim.user_id)
    with admin_lab.client(token) as http:
        locked = http.get("/_matrix/client/v3/account/whoami")
    assert locked.status_code == 401 and locked.json()["errcode"] == "M_USER_LOCKED"
    admin_lab.wmx("user", "unlock", kim.user_id)
    with admin_lab.client(token) as http:
        assert http.get("/_matrix/client/v3/account/whoami").status_code == 200


def test_suspend_and_unsuspend(admin_lab: AdminLab) -> None:
    lea = admin_lab.account("lea")
    token = admin_lab.token_of(lea)
    room_id = admin_lab.create_room(token)
    admin_lab.wmx("user", "suspend", lea.user_id)
    refused = admin_lab.send(token, room_id, "while suspended")
    assert refused.status_code == 403 and refused.json()["errcode"] == "M_USER_SUSPENDED"
    admin_lab.wmx("user", "unsuspend", lea.user_id)
    assert admin_lab.send(token, room_id, "back again").status_code == 200


def test_shadow_ban_hides_messages_from_others(
    admin_lab: AdminLab, admin_api: SynapseAdmin
) -> None:
    mia, ned = admin_lab.account("mia"), admin_lab.account("ned")
    mia_token, ned_token = admin_lab.token_of(mia), admin_lab.token_of(ned)
    room_id = admin_lab.create_room(ned_token, preset="public_chat")
    assert admin_lab.join(mia_token, room_id).status_code == 200
    admin_lab.wmx("user", "shadow-ban", mia.user_id)
    assert admin_api.users.get(mia.user_id)["shadow_banned"] is True
    sent = admin_lab.send(mia_token, room_id, "buy cheap things")
    assert sent.status_code == 200  # it seems to work for the sender...
    with admin_lab.client(ned_token) as http:
        events = http.get(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages",
            params={"dir": "b", "limit": 20},
        ).json()["chunk"]
    assert "buy cheap things" not in json.dumps(events)  # ...but nobody receives it
    admin_lab.wmx("user", "unshadow-ban", mia.user_id)
    assert admin_api.users.get(mia.user_id)["shadow_banned"] is False


def _devices(admin_lab: AdminLab, user_id: str) -> list[dict[str, Any]]:
    result = admin_lab.wmx("user", "devices", user_id, "-o", "json")
    return cast(list[dict[str, Any]], json.loads(result.stdout))


def test_devices_listed_and_pruned(admin_lab: AdminLab) -> None:
    olga = admin_lab.account("olga")  # registration leaves one device, never used
    tokens = [admin_lab.token_of(olga) for _ in range(2)]
    for token in tokens:
        with admin_lab.client(token) as http:
            http.get("/_matrix/client/v3/account/whoami")
    # Synapse records "last seen" in batches, every few seconds.
    deadline = time.monotonic() + 30
    while sum(d["last_seen_ts"] is not None for d in _devices(admin_lab, olga.user_id)) < 2:
        assert time.monotonic() < deadline, "Synapse never recorded the devices as seen"
        time.sleep(1)
    assert len(_devices(admin_lab, olga.user_id)) == 3

    month = admin_lab.wmx(
        "user", "devices", olga.user_id, "--prune-older-than", "30", "--yes", "-o", "json"
    )
    assert json.loads(month.stdout) == []
    pruned = admin_lab.wmx("user", "devices", olga.user_id, "--prune-older-than", "0", "--yes")
    assert "logged out" in pruned.stdout
    for token in tokens:
        with admin_lab.client(token) as http:
            assert http.get("/_matrix/client/v3/account/whoami").status_code == 401
    [never_used] = _devices(admin_lab, olga.user_id)
    assert never_used["last_seen_ts"] is None
    admin_lab.wmx(
        "user", "devices", olga.user_id, "--prune-older-than", "0", "--never-seen", "--yes"
    )
    assert _devices(admin_lab, olga.user_id) == []


def test_redact_all_events_of_a_user(admin_lab: AdminLab) -> None:
    pia, quinn = admin_lab.account("pia"), admin_lab.account("quinn")
    pia_token, quinn_token = admin_lab.token_of(pia), admin_lab.token_of(quinn)
    room_id = admin_lab.create_room(quinn_token, preset="public_chat")
    assert admin_lab.join(pia_token, room_id).status_code == 200
    event_ids = [
        admin_lab.send(pia_token, room_id, f"abuse {n}").json()["event_id"] for n in range(3)
    ]

    result = admin_lab.wmx("user", "redact", pia.user_id, "--reason", "spam", "--yes")
    assert "complete" in result.stdout
    with admin_lab.client(quinn_token) as http:
        for event_id in event_ids:
            path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/event/"
            event = http.get(path + quote(event_id, safe="")).json()
            assert event["content"] == {}, event
            assert "redacted_because" in event.get("unsigned", {})

    started = json.loads(
        admin_lab.wmx("user", "redact", pia.user_id, "--no-wait", "--yes", "-o", "json").stdout
    )
    status = admin_lab.wmx("user", "redact-status", started["redact_id"], "-o", "json")
    assert json.loads(status.stdout)["status"] in {"scheduled", "active", "complete"}


def test_whois_shows_connections(admin_lab: AdminLab) -> None:
    rosa = admin_lab.account("rosa")
    token = admin_lab.token_of(rosa)
    with admin_lab.client(token) as http:
        http.get("/_matrix/client/v3/account/whoami", headers={"User-Agent": "whois-test/1.0"})
    info = json.loads(admin_lab.wmx("user", "whois", rosa.user_id, "-o", "json").stdout)
    assert info["user_id"] == rosa.user_id
    assert "whois-test/1.0" in json.dumps(info)
    assert "127.0.0.1" in admin_lab.wmx("user", "whois", rosa.user_id).stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("user", "show", "@bad id:wmx.test"), "'@bad id:wmx.test'"),
        (("user", "deactivate", "@someone:other.org", "--yes"), "'@someone:other.org'"),
        (("user", "create", "Upper Case", "--generate-password"), "'upper case'"),
        (("user", "lock", "@:wmx.test"), "'@:wmx.test'"),
        (("user", "devices", "@x:wmx.test", "--prune-older-than", "-1"), "-1"),
        (("user", "redact", "@x:wmx.test", "--room", "not-a-room", "--yes"), "'not-a-room'"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    admin_lab: AdminLab, args: tuple[str, ...], named: str
) -> None:
    result = admin_lab.wmx(*args, "--url", NOWHERE, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named.lower() in lines[0].lower(), result.stderr


def test_unknown_user_exits_2_naming_it(admin_lab: AdminLab) -> None:
    for args in (
        ("user", "show", "@ghost:wmx.test"),
        ("user", "deactivate", "ghost", "--yes"),
        ("user", "reset-password", "ghost", "--generate-password"),
        ("user", "suspend", "ghost"),
    ):
        result = admin_lab.wmx(*args, expect=2)
        assert "unknown user @ghost:wmx.test" in result.stderr


def test_wmx_refuses_to_disable_its_own_account(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("user", "deactivate", "wmx-admin", "--yes", expect=2)
    assert "wmx's own admin account" in result.stderr


def _profiles_index_built(admin_lab: AdminLab) -> None:
    """Synapse 1.163 reactivates an account by upserting its profile, which needs the
    unique index a background update builds: on a database this new it answers 500 until
    that update is done (a server in service has long done it)."""
    import sqlite3

    database = admin_lab.synapse.workdir / "homeserver.db"
    for _ in range(1500):
        with sqlite3.connect(database) as db:
            pending = db.execute(
                "SELECT 1 FROM background_updates WHERE update_name = ?",
                ("profiles_full_user_id_key_idx",),
            ).fetchall()
        if not pending:
            return
        time.sleep(0.2)
    raise AssertionError("Synapse's background update of the profiles index never ran")


def test_a_deactivation_is_undone_by_reactivate(admin_lab: AdminLab) -> None:
    """`reset-password` on a deactivated account had said `pass it on now` for a password
    Synapse refuses (403 M_USER_DEACTIVATED); nothing in wmx undid a deactivation."""
    lena = admin_lab.account("lena")
    admin_lab.wmx("user", "deactivate", lena.user_id, "--yes")
    again = admin_lab.wmx("user", "deactivate", lena.user_id, "--yes")
    assert "already deactivated (nothing to do)" in again.stdout
    refused = admin_lab.wmx("user", "reset-password", lena.user_id, "--generate-password", expect=2)
    assert f"`wmx user reactivate {lena.user_id}`" in refused.stderr
    created = admin_lab.wmx("user", "create", lena.localpart, "--generate-password", expect=2)
    assert "wmx user reactivate" in created.stderr

    _profiles_index_built(admin_lab)
    done = admin_lab.wmx("user", "reactivate", lena.user_id, "--generate-password", "-o", "json")
    password = json.loads(done.stdout)["password"]
    assert admin_lab.login(lena.user_id, password).status_code == 200
    assert admin_lab.login(lena.user_id, lena.password).status_code == 403
