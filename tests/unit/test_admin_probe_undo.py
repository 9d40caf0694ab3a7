"""What a second probe against a real Synapse found in the administration commands: a
deactivation wmx could not undo while `reset-password` handed out a password that could
not log in; `reset-password` logging everyone out unasked; `--yes` refused by commands
that change something; wmx's own account redacted; `media delete --before` without a
dry run. Each runs on a scripted Synapse (tests/unit/synapse_script.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner, Result

from tests.unit.synapse_script import Synapse, scripted_sessions
from tests.unit.test_admin_actions import _act
from wmx.admin.act import Rows
from wmx.admin.actions import media, user
from wmx.admin.passwords import NewPassword
from wmx.cli import app
from wmx.errors import InputError
from wmx.site import Site

USER = "@bob:example.test"
USERS = f"/_synapse/admin/v2/users/{USER}"
RESET = f"/_synapse/admin/v1/reset_password/{USER}"


def _wmx(site_dir: Path, *args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(
        app, ["--site", str(site_dir), *args], input=stdin, env={"COLUMNS": "200"}
    )


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.output
    return line


class Recording(Synapse):
    """A scripted Synapse that keeps each request's JSON body."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        super().__init__(answers)
        self.bodies: list[tuple[str, str, Any]] = []

    def __call__(self, request: Any) -> Any:
        body = json.loads(request.content) if request.content else None
        self.bodies.append((request.method, request.url.path, body))
        return super().__call__(request)


def _deactivated(erased: bool = False) -> Recording:
    return Recording(
        {
            ("GET", USERS): {"name": USER, "deactivated": True, "erased": erased},
            ("PUT", USERS): {"name": USER, "deactivated": False},
            ("POST", RESET): {},
            ("POST", "/_synapse/admin/v1/deactivate/"): {},
        }
    )


# --- reactivation ---------------------------------------------------------------------


def test_reactivation_sends_a_new_password_and_shows_a_generated_one(
    one_host: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    synapse = _deactivated()
    act, questions = _act(one_host, synapse)
    done = user.reactivate(act, USER, NewPassword("s3cret-generated", generated=True))
    assert ("PUT", USERS, {"deactivated": False, "password": "s3cret-generated"}) in (
        synapse.bodies
    )
    assert done.data == {
        "user_id": USER,
        "deactivated": False,
        "changed": True,
        "password": "s3cret-generated",
    }
    assert "s3cret-generated" in done.note and "invite it back" in done.note
    assert questions == []


def test_reactivating_an_active_account_changes_nothing(one_host: Site) -> None:
    synapse = Synapse({("GET", USERS): {"name": USER, "deactivated": False}})
    act, _ = _act(one_host, synapse)
    done = user.reactivate(act, USER, NewPassword("pw", generated=False))
    assert "is not deactivated (nothing to do" in done.message
    assert done.data["changed"] is False and synapse.changes() == []


def test_reactivate_is_a_command(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synapse = scripted_sessions(monkeypatch, _deactivated())
    result = _wmx(site_dir, "user", "reactivate", "bob", "--generate-password", "-o", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["changed"] is True and len(shown["password"]) == 20
    assert synapse.changes() == [("PUT", USERS)]


def test_reset_password_refuses_a_deactivated_account_pointing_at_reactivate(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It had said `pass it on now` for a password Synapse refuses (M_USER_DEACTIVATED)."""
    synapse = scripted_sessions(monkeypatch, _deactivated())
    line = _one_error(_wmx(site_dir, "user", "reset-password", "bob", "--generate-password"))
    assert line == (
        f"error: {USER} is deactivated: no password lets it log in; "
        f"`wmx user reactivate {USER}` reactivates it with a new password"
    )
    assert synapse.changes() == []


def test_create_points_a_deactivated_account_at_reactivate(one_host: Site) -> None:
    act, _ = _act(one_host, _deactivated())
    with pytest.raises(InputError, match=f"deactivated; `wmx user reactivate {USER}`"):
        user.create(act, USER, NewPassword("pw", generated=False), False, None, None)


@pytest.mark.parametrize("erase", [False, True])
def test_deactivating_again_is_a_no_op_that_says_so(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, erase: bool
) -> None:
    """A cleanup script run twice had failed with exit 2 where its goal already held."""
    synapse = scripted_sessions(monkeypatch, _deactivated(erased=erase))
    args = ["user", "deactivate", "bob", "--yes", *(["--erase"] if erase else [])]
    result = _wmx(site_dir, *args)
    assert result.exit_code == 0, result.output
    assert "is already deactivated" in result.stdout and "nothing to do" in result.stdout
    assert synapse.changes() == []


def test_erasing_a_deactivated_account_not_yet_erased_still_erases(one_host: Site) -> None:
    synapse = _deactivated(erased=False)
    act, questions = _act(one_host, synapse)
    user.deactivate(act, USER, erase=True, dry_run=False)
    assert synapse.changes() == [("POST", f"/_synapse/admin/v1/deactivate/{USER}")]
    assert len(questions) == 1


# --- reset-password asks --------------------------------------------------------------


def _active() -> Synapse:
    return Synapse({("GET", USERS): {"name": USER}, ("POST", RESET): {}})


@pytest.mark.parametrize(
    ("keep", "said"),
    [(False, "log it out everywhere?"), (True, "sessions stay")],
)
def test_reset_password_asks_saying_what_it_breaks(one_host: Site, keep: bool, said: str) -> None:
    synapse = _active()
    act, questions = _act(one_host, synapse, agree=False)
    with pytest.raises(typer.Exit):
        user.reset_password(act, USER, NewPassword("pw", generated=True), keep_devices=keep)
    (question,) = questions
    assert question.startswith(f"Replace {USER}'s password") and said in question
    assert "old" in question and ("encryption keys" in question) != keep
    assert synapse.changes() == []


def test_reset_password_without_an_answer_changes_nothing(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synapse = scripted_sessions(monkeypatch, _active())
    refused = _wmx(site_dir, "user", "reset-password", "bob", "--generate-password")
    assert refused.exit_code == 1 and "Replace" in refused.stderr
    assert "pass it on" not in refused.output and synapse.changes() == []
    done = _wmx(site_dir, "user", "reset-password", "bob", "--generate-password", "--yes")
    assert done.exit_code == 0, done.output
    assert synapse.changes() == [("POST", RESET)]


# --- --yes on every command that changes something ------------------------------------

# The commands of `wmx user`, `room` and `media` that change nothing.
READ_ONLY = {
    "user list",
    "user show",
    "user whois",
    "user redact-status",
    "room list",
    "room show",
    "room members",
    "room state",
    "room directory list",
    "room alias list",
    "room link",
    "media list",
    "media show",
    "regtoken list",
    "regtoken show",
    "reports list",
    "reports show",
}


def _commands(group: Any, prefix: str) -> dict[str, Any]:
    """Each command under `group` by its path (`room alias delete`)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        if getattr(command, "commands", None) is not None:
            found |= _commands(command, path)
        else:
            found[path] = command
    return found


def test_every_command_that_changes_something_takes_yes() -> None:
    """Scripts pass --yes to every change: `lock`, `admin`, `reset-password`… had failed
    with exit 2 (no such option)."""
    root: Any = get_command(app)
    commands: dict[str, Any] = {}
    for group in ("user", "room", "media", "regtoken", "notice", "reports", "admin"):
        commands |= _commands(root.commands[group], group)
    changing = {path: c for path, c in commands.items() if path not in READ_ONLY}
    assert {"user lock", "user unshadow-ban", "user admin", "room block"} <= changing.keys()
    without = [
        path
        for path, command in changing.items()
        if not any("--yes" in p.opts for p in command.params)
    ]
    assert without == []


@pytest.mark.parametrize(
    "args",
    [
        ("user", "lock", "bob"),
        ("user", "unsuspend", "bob"),
        ("user", "shadow-ban", "bob"),
        ("user", "admin", "bob", "on"),
    ],
)
def test_yes_is_accepted_where_nothing_is_asked(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    synapse = scripted_sessions(
        monkeypatch,
        Synapse(
            {
                ("GET", USERS): {"name": USER},
                ("PUT", "/_synapse/admin/"): {},
                ("POST", "/_synapse/admin/"): {},
            }
        ),
    )
    result = _wmx(site_dir, *args, "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and len(synapse.changes()) == 1


# --- wmx's own account ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (("user", "redact", "wmx-admin", "--yes"), "redact the events of"),
        (("media", "quarantine", "--user", "wmx-admin", "--yes"), "quarantine the media of"),
    ],
)
def test_wmx_will_not_act_on_its_own_account(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], refused: str
) -> None:
    synapse = scripted_sessions(monkeypatch, Synapse({}))
    line = _one_error(_wmx(site_dir, *args))
    assert line == (
        f"error: @wmx-admin:example.test is wmx's own admin account: wmx will not {refused} it"
    )
    assert synapse.sessions == 0


# --- media delete --before --dry-run --------------------------------------------------

DAY = 86_400_000
BEFORE = 100 * DAY


def _media(media_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "media_id": media_id,
        "media_type": "image/png",
        "media_length": 2048,
        "created_ts": 10 * DAY,
        "last_access_ts": 20 * DAY,
        "quarantined_by": None,
        "safe_from_quarantine": False,
        **fields,
    }


def _media_server() -> Synapse:
    uploads = [
        _media("old"),
        _media("never-used", last_access_ts=None),
        _media("used-lately", last_access_ts=BEFORE + DAY),
        _media("small", media_length=10),
        _media("quarantined", quarantined_by="@mod:example.test"),
        _media("protected", safe_from_quarantine=True),
        _media("avatar"),
        _media("room-avatar"),
    ]
    return Synapse(
        {
            ("GET", "/_synapse/admin/v1/statistics/users/media"): {
                "users": [
                    {"user_id": USER, "media_count": len(uploads)},
                    {"user_id": "@none:example.test", "media_count": 0},
                ],
                "total": 2,
            },
            ("GET", f"/_synapse/admin/v1/users/{USER}/media"): {
                "media": uploads,
                "total": len(uploads),
            },
            ("GET", "/_synapse/admin/v2/users"): {
                "users": [{"name": USER, "avatar_url": "mxc://example.test/avatar"}],
                "total": 1,
            },
            ("GET", "/_synapse/admin/v1/rooms"): {
                "rooms": [
                    {"room_id": "!r:example.test", "avatar": "mxc://example.test/room-avatar"}
                ],
                "total_rooms": 1,
            },
        }
    )


def test_a_dry_run_lists_the_media_synapse_would_delete_and_deletes_nothing(
    one_host: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    synapse = _media_server()
    act, questions = _act(one_host, synapse)
    listed = media.delete_before(act, BEFORE, "1K", 1024, False, dry_run=True)
    assert isinstance(listed, Rows)
    assert [r["media"] for r in listed.rows] == [
        "mxc://example.test/old",
        "mxc://example.test/never-used",
    ]
    assert listed.note == "2 item(s) of local media (4 KiB) would be deleted."
    assert questions == [] and synapse.changes() == []
    with_avatars = media.delete_before(act, BEFORE, None, 0, True, dry_run=True)
    assert isinstance(with_avatars, Rows) and len(with_avatars.rows) == 5


def test_the_dry_run_is_a_command_option_of_the_bulk_deletion_only(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synapse = scripted_sessions(monkeypatch, _media_server())
    result = _wmx(site_dir, "media", "delete", "--before", "2000-01-01", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list) and synapse.changes() == []
    line = _one_error(_wmx(site_dir, "media", "delete", "abcdef", "--dry-run"))
    assert "--dry-run go with --before" in line


def test_the_real_deletion_still_asks(one_host: Site) -> None:
    synapse = _media_server()
    act, questions = _act(one_host, synapse, agree=False)
    with pytest.raises(typer.Exit):
        media.delete_before(act, BEFORE, None, 0, False)
    assert len(questions) == 1 and synapse.changes() == []
