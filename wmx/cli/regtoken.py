"""`wmx regtoken`: registration tokens, how a chapter onboards members while
registration stays closed to everyone else."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.admin_support import Cmd, Yes, command, confirm
from wmx.cli.common import checked, group
from wmx.errors import InputError
from wmx.present import columns, esc, when

app = group("regtoken")

Token = Annotated[str, typer.Argument(help="The token.")]
Uses = Annotated[int | None, typer.Option("--uses", min=1, help="How many accounts it may create.")]
Expires = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="When it stops working: YYYY-MM-DD, a date-time, or a duration such as 30d.",
    ),
]

COLUMNS = columns(
    "token, uses allowed:uses_allowed, used:completed, pending, expires:expiry_time",
    uses_allowed=lambda v: "unlimited" if v is None else str(v),
    expiry_time=lambda v: "never" if v is None else when(v),
)


def _token(value: str) -> str:
    from wmx.admin.regtokens import check_token

    return checked(check_token, value)


def _future_ms(value: str) -> int:
    from wmx.admin.ids import check_future_ms

    return checked(check_future_ms, value)


@command(app, "list")
def list_tokens(
    cmd: Cmd,
    valid: Annotated[
        bool | None,
        typer.Option("--valid/--invalid", help="Only usable tokens, or only used-up/expired ones."),
    ] = None,
) -> None:
    """List registration tokens with their use counts and expiry."""
    with cmd.session() as admin:
        tokens = admin.tokens.listing(valid=valid)
    cmd.rows(tokens, COLUMNS, empty="no registration tokens")


@command(app)
def show(cmd: Cmd, token: Token) -> None:
    """One token's details."""
    name = _token(token)
    with cmd.session() as admin:
        found = admin.tokens.get(name)
    cmd.record(found, COLUMNS)


@command(app)
def create(
    cmd: Cmd,
    uses: Uses = None,
    expires: Expires = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Choose the token (default: random).")
    ] = None,
    length: Annotated[
        int | None, typer.Option("--length", min=1, max=64, help="Length of a random token.")
    ] = None,
) -> None:
    """Create a token; hand it to the people who should sign up."""
    from wmx.admin.regtokens import DEFAULT_LENGTH, random_token

    if token and length:
        raise InputError("give --token or --length, not both")
    chosen = _token(token) if token else random_token(length or DEFAULT_LENGTH)
    expiry = _future_ms(expires) if expires else None
    with cmd.session() as admin:
        created = admin.tokens.create(token=chosen, uses_allowed=uses, expiry_ms=expiry)
    cmd.record(created, COLUMNS)
    if cmd.table:
        server = cmd.site.config.server_name
        typer.echo(
            f"New members register on {server} with this token (e.g. in Element: "
            f"'Create account', homeserver {server})."
        )


@command(app)
def update(
    cmd: Cmd,
    token: Token,
    uses: Uses = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="No limit on uses.")] = False,
    expires: Expires = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expires.")] = False,
) -> None:
    """Change how often a token may be used or when it expires."""
    from wmx.admin.regtokens import token_changes

    name = _token(token)
    expiry_ms = _future_ms(expires) if expires is not None else None
    changes = token_changes(
        uses=uses, unlimited=unlimited, expiry_ms=expiry_ms, no_expiry=no_expiry
    )
    with cmd.session() as admin:
        updated = admin.tokens.update(name, changes)
    cmd.record(updated, COLUMNS)


@command(app)
def delete(cmd: Cmd, token: Token, yes: Yes = False) -> None:
    """Delete a token: nobody can register with it any more."""
    name = _token(token)
    with cmd.session() as admin:
        admin.tokens.get(name)
        confirm(f"Delete registration token {name}?", yes)
        admin.tokens.delete(name)
    cmd.done(f"Registration token {esc(name)} deleted.", {"token": name, "deleted": True})
