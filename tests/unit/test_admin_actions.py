"""wmx.admin.actions: the administration commands' work, run with a real `SynapseAdmin`
against a scripted Synapse (tests/unit/synapse_script.py): what each action asks before a
change, the requests it sends (and those it does not send when refused, in a dry run or
on a contradiction), and what it gives back to show (wmx.admin.act)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import typer

from tests.unit.synapse_script import Synapse
from wmx.admin.act import Act, Done, Results, Rows
from wmx.admin.actions import media, room, service, user
from wmx.present import Column, OutputFormat, console, when
from wmx.site import Site
from wmx.site.topology import Topology

USER = "@spam:example.test"
BRIDGED = ("database", "homeserver", "proxy", "irc_bridge")


def _act(site: Site, synapse: Synapse, agree: bool = True) -> tuple[Act, list[str]]:
    questions: list[str] = []

    def ask(question: str) -> None:
        questions.append(question)
        if not agree:
            raise typer.Exit(1)

    return Act(synapse.client(), site, ask), questions


def _shown(result: Any, output: OutputFormat = OutputFormat.table) -> str:
    with console.capture() as out:
        result.show(output)
    return out.get()


def _json(result: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    result.show(OutputFormat.json)
    return json.loads(capsys.readouterr().out)


def test_deactivation_asks_first_and_a_refusal_sends_nothing(one_host: Site) -> None:
    synapse = Synapse({("GET", f"/_synapse/admin/v2/users/{USER}"): {"name": USER}})
    act, questions = _act(one_host, synapse, agree=False)
    with pytest.raises(typer.Exit):
        user.deactivate(act, USER, erase=True, dry_run=False)
    assert questions == [f"Deactivate and erase {USER}? They can no longer log in"]
    assert synapse.changes() == []


def test_deactivation_dry_run_and_the_real_one(
    one_host: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    synapse = Synapse(
        {
            ("GET", f"/_synapse/admin/v2/users/{USER}"): {"name": USER},
            ("POST", f"/_synapse/admin/v1/deactivate/{USER}"): {"id_server_unbind_result": "x"},
        }
    )
    act, questions = _act(one_host, synapse)
    dry = user.deactivate(act, USER, erase=False, dry_run=True)
    assert dry.data == {"would_deactivate": [USER]} and synapse.changes() == []
    done = user.deactivate(act, USER, erase=False, dry_run=False)
    assert synapse.changes() == [("POST", f"/_synapse/admin/v1/deactivate/{USER}")]
    assert _json(done, capsys) == {"user_id": USER, "deactivated": True, "erased": False}
    assert len(questions) == 1


def test_an_account_already_deactivated_is_left_as_it_is(one_host: Site) -> None:
    synapse = Synapse(
        {("GET", f"/_synapse/admin/v2/users/{USER}"): {"name": USER, "deactivated": True}}
    )
    act, questions = _act(one_host, synapse)
    done = user.deactivate(act, USER, erase=False, dry_run=False)
    assert done.message == f"[bold]{USER}[/] is already deactivated (nothing to do)."
    assert done.data["changed"] is False
    assert questions == [] and synapse.changes() == []


def test_deactivation_by_pattern_spares_admins_and_wmx(one_host: Site) -> None:
    listing = {
        "users": [
            {"name": "@spam1:example.test"},
            {"name": "@spam2:example.test", "admin": True},
            {"name": "@wmx-admin:example.test"},
            {"name": "@alice:example.test"},
        ],
        "total": 4,
    }
    synapse = Synapse({("GET", "/_synapse/admin/v2/users"): listing})
    act, questions = _act(one_host, synapse)
    found = user.deactivate_matching(act, "spam.*|wmx-admin", erase=False, dry_run=True)
    assert isinstance(found, Rows)
    assert [r["user_id"] for r in found.rows] == ["@spam1:example.test"]
    assert questions == [] and synapse.changes() == []


def test_results_fail_the_command_unless_each_went_well(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = Results(
        [{"user_id": "@a:x", "result": "sent"}, {"user_id": "@b:x", "result": "failed: 500"}],
        target=Column.key("user", "user_id"),
        ok="sent",
    )
    with pytest.raises(typer.Exit):
        _shown(results)
    done = Done("Sent.", {"sent": 1}, note="  (a note)")
    assert _json(done, capsys) == {"sent": 1}
    assert _shown(done).splitlines() == ["Sent.", "  (a note)"]


def test_an_empty_room_purge_dry_run_deletes_nothing(one_host: Site) -> None:
    empty = {"rooms": [{"room_id": "!a:example.test", "name": "old"}], "total_rooms": 1}
    synapse = Synapse({("GET", "/_synapse/admin/v1/rooms"): empty})
    act, questions = _act(one_host, synapse)
    listed = room.purge_empty(act, dry_run=True, block=False)
    assert isinstance(listed, Rows) and [r["room_id"] for r in listed.rows] == ["!a:example.test"]
    assert questions == [] and synapse.changes() == []


def test_media_deletion_says_what_it_deletes_before_it_does(one_host: Site) -> None:
    synapse = Synapse({("POST", "/_synapse/admin/v1/media/delete"): {"deleted_media": ["a", "b"]}})
    act, questions = _act(one_host, synapse)
    done = media.delete_before(act, 1_700_000_000_000, "10M", 10 * 1024**2, False)
    since = when(1_700_000_000_000)
    assert questions == [
        f"Delete local media larger than 10M not used since {since}? It cannot be undone "
        "(--dry-run lists what would go)"
    ]
    assert isinstance(done, Done) and done.message == "2 item(s) of media deleted."
    assert synapse.changes() == [("POST", "/_synapse/admin/v1/media/delete")]


def test_a_notice_to_everyone_is_asked_for_and_skips_wmx(one_host: Site) -> None:
    listing = {"users": [{"name": "@wmx-admin:example.test"}, {"name": USER}], "total": 2}
    synapse = Synapse(
        {
            ("GET", "/_synapse/admin/v2/users"): listing,
            ("POST", "/_synapse/admin/v1/send_server_notice"): {"event_id": "$e"},
        }
    )
    act, questions = _act(one_host, synapse)
    results = service.send_notice(act, "Maintenance tonight.", [], progress=False)
    assert questions == ["Send this notice to all 1 local account(s)?"]
    assert [r["user_id"] for r in results.results] == [USER]


def test_quarantine_and_unquarantine_of_one_item_answer_scripts_alike(
    one_host: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """`media quarantine MEDIA -o json` said `"quarantined": 1` where `unquarantine` says
    false: one item's state is a boolean, as `protect`'s, `lock`'s and `block`'s are."""
    remote = ("other.test", "abc")
    synapse = Synapse(
        {
            ("POST", "/_synapse/admin/v1/media/quarantine/other.test/abc"): {},
            ("POST", "/_synapse/admin/v1/media/unquarantine/other.test/abc"): {},
        }
    )
    act, _ = _act(one_host, synapse)
    on = _json(media.quarantine(act, remote), capsys)
    off = _json(media.unquarantine(act, remote), capsys)
    assert on == {"media": "mxc://other.test/abc", "quarantined": True}
    assert on["quarantined"] is True and off["quarantined"] is False  # 1 == True in Python
    assert off == {"media": "mxc://other.test/abc", "quarantined": False}


def test_a_notice_to_everyone_skips_the_irc_bridges_bot_and_puppets(one_host: Site) -> None:
    """Synapse's listing types neither the appservice's bot nor its IRC puppets as bots:
    `--all-local` sent each a notice (seen on the demo site: @heisenbridge got one)."""
    bridged = replace(
        one_host,
        topology=Topology(hosts=(replace(one_host.topology.hosts[0], groups=BRIDGED),)),
    )
    people = ["@heisenbridge:example.test", "@irc_libera_nick:example.test", USER]
    listing = {"users": [{"name": name, "user_type": None} for name in people], "total": 3}
    synapse = Synapse(
        {
            ("GET", "/_synapse/admin/v2/users"): listing,
            ("POST", "/_synapse/admin/v1/send_server_notice"): {"event_id": "$e"},
        }
    )
    act, questions = _act(bridged, synapse)
    results = service.send_notice(act, "Maintenance tonight.", [], progress=False)
    assert questions == ["Send this notice to all 1 local account(s)?"]
    assert [r["user_id"] for r in results.results] == [USER]
    # Without the bridge an account named so is a person's.
    act, questions = _act(one_host, synapse)
    assert len(service.send_notice(act, "Hi.", [], progress=False).results) == 3


@pytest.mark.parametrize(
    ("registration", "said"),
    [
        ("token", "New members register on example.test with this token"),
        ("closed", "synapse.registration is closed (Synapse refuses every sign-up)"),
        ("open", "synapse.registration is open (anyone signs up"),
    ],
)
def test_a_new_token_says_whether_anyone_can_register_with_it(
    one_host: Site, registration: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a site whose registration is closed (wmx init's default) `regtoken create` said
    new members register with the token; Synapse refused them all (seen on the demo)."""
    config = one_host.config.model_copy(
        update={
            "synapse": one_host.config.synapse.model_copy(update={"registration": registration})
        }
    )
    synapse = Synapse({("POST", "/_synapse/admin/v1/registration_tokens/new"): {"token": "t"}})
    act, _ = _act(replace(one_host, config=config), synapse)
    service.create_token(act, None, None, 2, None).show(OutputFormat.table)
    shown = " ".join(capsys.readouterr().out.split())
    assert said in shown
    assert ("wmx config set synapse.registration token" in shown) == (registration != "token")
