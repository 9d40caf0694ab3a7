"""`wmx regtoken` (registration tokens), `wmx notice` (server notices) and `wmx reports`
(event reports): the smaller administration groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wmx.admin.account import admin_user_id
from wmx.admin.act import Act, Done, Paged, Record, Results, Rows
from wmx.admin.bulk import notice_recipients, send_notices
from wmx.admin.present import REPORT_COLUMNS, REPORT_FIELDS
from wmx.admin.regtokens import DEFAULT_LENGTH, random_token
from wmx.admin.regtokens import token_changes as token_changes  # for the command
from wmx.admin.targets import room_id_of
from wmx.components.irc_bridge import BOT_LOCALPART, PUPPET_PREFIX
from wmx.present import Column, columns, console, esc, when

if TYPE_CHECKING:
    from wmx.site import Site

# Registration tokens

TOKEN_COLUMNS = columns(
    "token, uses allowed:uses_allowed, used:completed, pending, expires:expiry_time",
    uses_allowed=lambda v: "unlimited" if v is None else str(v),
    expiry_time=lambda v: "never" if v is None else when(v),
)


def tokens(act: Act, valid: bool | None) -> Rows:
    found = act.admin.tokens.listing(valid=valid)
    return Rows(found, TOKEN_COLUMNS, empty="no registration tokens")


def token(act: Act, name: str) -> Record:
    return Record(act.admin.tokens.get(name), TOKEN_COLUMNS)


def create_token(
    act: Act, name: str | None, length: int | None, uses: int | None, expiry_ms: int | None
) -> Record:
    """Create the token `name` (or a random one of `length` characters); for people, say
    how new members use it."""
    chosen = name or random_token(length or DEFAULT_LENGTH)
    created = act.admin.tokens.create(token=chosen, uses_allowed=uses, expiry_ms=expiry_ms)
    return Record(
        created,
        TOKEN_COLUMNS,
        note=token_note(act.server_name, act.site.config.synapse.registration),
    )


def token_note(server: str, registration: str) -> str:
    """How new members use a token, which Synapse asks for only when wmx.yaml's
    `synapse.registration` is `token`: closed refuses every registration and open asks
    for none, so there the note says what to change instead of promising sign-ups."""
    if registration == "token":
        return (
            f"New members register on {server} with this token (e.g. in Element: "
            f"'Create account', homeserver {server})."
        )
    now = (
        "Synapse refuses every sign-up"
        if registration == "closed"
        else "anyone signs up with an e-mail address, no token asked"
    )
    return (
        f"Nobody registers with it yet: wmx.yaml's synapse.registration is {registration} "
        f"({now}). To use tokens: `wmx config set synapse.registration token`, then "
        "`wmx deploy`."
    )


def update_token(act: Act, name: str, changes: dict[str, int | None]) -> Record:
    return Record(act.admin.tokens.update(name, changes), TOKEN_COLUMNS)


def delete_token(act: Act, name: str) -> Done:
    act.admin.tokens.get(name)
    act.ask(f"Delete registration token {name}?")
    act.admin.tokens.delete(name)
    return Done(f"Registration token {esc(name)} deleted.", {"token": name, "deleted": True})


# Server notices


def bridge_accounts(site: Site) -> Callable[[str], bool]:
    """Whether an account is the IRC bridge's (its bot, or the puppet of an IRC user:
    the appservice's namespace), where the site runs the bridge."""
    if site.topology.bridge_host is None:
        return lambda _: False
    server = site.config.server_name
    bot = f"@{BOT_LOCALPART}:{server}"
    return lambda user_id: (
        user_id == bot
        or (user_id.startswith(f"@{PUPPET_PREFIX}") and user_id.endswith(f":{server}"))
    )


def send_notice(act: Act, body: str, named: list[str], *, progress: bool) -> Results:
    """Send `body` to the `named` accounts, or (none named) to every local account but
    wmx's own, support, bots and the IRC bridge's, after asking; `progress` shows who
    is next."""
    recipients = notice_recipients(
        act.admin, admin_user_id(act.site), named, bridge_accounts(act.site)
    )
    if not named:
        act.ask(f"Send this notice to all {len(recipients)} local account(s)?")

    def show(index: int, user_id: str) -> None:
        console.print(f"[dim]{index}/{len(recipients)}[/] {esc(user_id)}", end="\r")

    results = send_notices(act.admin, recipients, body, show if progress else None)
    return Results(results, Column.key("user", "user_id"), ok="sent", empty="no recipients")


# Event reports


def reports(
    act: Act, room: str | None, reporter: str | None, sender: str | None, limit: int | None
) -> Paged:
    """Open reports (in `room`, by a `reporter`, about a `sender`'s messages)."""
    room_id = room_id_of(act.admin, room) if room else None
    pages = act.admin.reports.pages(room_id=room_id, reporter=reporter, sender=sender, limit=limit)
    return Paged(pages, REPORT_COLUMNS, empty="no open reports")


def report(act: Act, report_id: int) -> Record:
    return Record(act.admin.reports.get(report_id), REPORT_FIELDS)


def resolve_report(act: Act, report_id: int) -> Done:
    act.admin.reports.get(report_id)
    act.ask(f"Resolve (delete) report {report_id}?")
    act.admin.reports.resolve(report_id)
    return Done(f"Report {report_id} resolved.", {"id": report_id, "resolved": True})
