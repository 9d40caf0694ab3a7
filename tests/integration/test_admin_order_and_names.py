"""Against a real Synapse: the room list's order with and without --desc, room aliases
in any script, names in capitals, and values Synapse cannot take."""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote

import pytest

from tests.integration.conftest import AdminLab
from wmx.admin.client import SynapseAdmin
from wmx.admin.http import NotFoundError
from wmx.admin.registration import register_user

pytestmark = pytest.mark.integration


def _rooms_of_sizes(admin_lab: AdminLab, tag: str) -> dict[str, int]:
    """Rooms named `tag-N` with N members (1, 2 and 3): room id → members."""
    owner = admin_lab.account("owner")
    token = admin_lab.token_of(owner)
    guests = [admin_lab.token_of(admin_lab.account("guest")) for _ in range(2)]
    sizes: dict[str, int] = {}
    for size in (2, 1, 3):  # made out of order: the order comes from sorting
        room_id = admin_lab.create_room(token, name=f"{tag}-{size}", preset="public_chat")
        for guest in guests[: size - 1]:
            assert admin_lab.join(guest, room_id).status_code == 200
        # Sorting and the search read the room stats: wait until they count every join
        # (the state events with them), or a room can tie with the next smaller one.
        admin_lab.settled(room_id, joined_members=size, name=f"{tag}-{size}")
        sizes[room_id] = size
    return sizes


@pytest.mark.parametrize("order", ["joined_members", "joined_local_members", "state_events"])
def test_desc_lists_the_largest_rooms_first(admin_lab: AdminLab, order: str) -> None:
    """`--sort joined_members --desc` listed the smallest rooms first (Synapse sorts
    this ordering largest first, and wmx's `--desc` reversed it)."""
    tag = f"sizes-{secrets.token_hex(3)}"
    sizes = _rooms_of_sizes(admin_lab, tag)

    def listed(*options: str) -> list[int]:
        args = ("room", "list", "--search", tag, "--sort", order, *options, "-o", "json")
        return [sizes[r["room_id"]] for r in json.loads(admin_lab.wmx(*args).stdout)]

    assert listed("--desc") == [3, 2, 1]
    assert listed() == [1, 2, 3]


def test_desc_lists_names_z_to_a(admin_lab: AdminLab) -> None:
    tag = f"names-{secrets.token_hex(3)}"
    sizes = _rooms_of_sizes(admin_lab, tag)
    args = ("room", "list", "--search", tag, "--sort", "name", "-o", "json")
    forwards = [sizes[r["room_id"]] for r in json.loads(admin_lab.wmx(*args).stdout)]
    backwards = [sizes[r["room_id"]] for r in json.loads(admin_lab.wmx(*args, "--desc").stdout)]
    assert forwards == [1, 2, 3] and backwards == [3, 2, 1]


# Aliases an attacker made (Synapse takes them from any user): each can be named.
UNICODE_ALIASES = ["café", "漢字", "\u0430dmin", "adm\u202ein", "a\u00a0b", "😀"]


@pytest.mark.parametrize("name", UNICODE_ALIASES)
def test_an_alias_in_any_script_can_be_shown_and_deleted(
    admin_lab: AdminLab, admin_api: SynapseAdmin, name: str
) -> None:
    """`wmx room alias delete '#漢字:wmx.test'` was refused as "not a room alias" (exit 2),
    so a squatted look-alike could not be removed with wmx."""
    owner = admin_lab.account("squatter")
    token = admin_lab.token_of(owner)
    room_id = admin_lab.create_room(token, name="squatted")
    alias = f"#{name}-{secrets.token_hex(3)}:wmx.test"
    with admin_lab.client(token) as http:
        made = http.put(
            f"/_matrix/client/v3/directory/room/{quote(alias, safe='')}", json={"room_id": room_id}
        )
    assert made.status_code == 200, made.text

    shown = json.loads(admin_lab.wmx("room", "show", alias, "-o", "json").stdout)
    assert shown["room_id"] == room_id
    admin_lab.wmx("room", "alias", "delete", alias, "--yes")
    with pytest.raises(NotFoundError):
        admin_api.rooms.resolve_alias(alias)


def test_an_alias_with_a_control_character_is_refused_in_one_line(admin_lab: AdminLab) -> None:
    result = admin_lab.wmx("room", "show", "#e\x1b[31mx:wmx.test", expect=2)
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert "control character (U+001B)" in result.stderr


def test_a_name_in_capitals_points_to_the_account_synapse_made(admin_lab: AdminLab) -> None:
    """Synapse registers `Upper-…` as @upper-…; `wmx user show Upper-…` only said
    unknown user."""
    typed = f"Upper-{secrets.token_hex(3)}"
    user = register_user(
        admin_lab.url, admin_lab.site.secrets.registration_shared_secret, typed, "x" * 16
    )
    assert user.user_id == f"@{typed.lower()}:wmx.test"
    result = admin_lab.wmx("user", "show", typed, expect=2)
    assert f"unknown user @{typed}:wmx.test" in result.stderr
    assert f"{user.user_id} exists: did you mean it?" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_report_number_beyond_synapse_is_an_input_error(admin_lab: AdminLab) -> None:
    """It reached Synapse, which failed with a 500 (exit 1); now refused as it is parsed,
    before wmx signs in."""
    result = admin_lab.wmx("reports", "show", "99999999999999999999999", expect=2)
    assert "is out of range (0 to 9223372036854775807)" in result.stderr


def test_a_url_with_a_path_or_without_synapse_says_so(admin_lab: AdminLab) -> None:
    with_path = admin_lab.wmx("user", "list", "--url", f"{admin_lab.url}/_synapse", expect=2)
    assert "without a path ('/_synapse')" in with_path.stderr
    assert "older release" not in with_path.stderr
