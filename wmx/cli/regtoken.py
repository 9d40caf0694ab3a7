"""`wmx regtoken`: registration tokens, how a chapter onboards members while
registration stays closed to everyone else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import AdminUrl, Output, Yes, confirm, session
from wmx.cli.common import OutputFormat, checked, open_site
from wmx.cli.present import Column, emit_done, emit_record, emit_rows, esc, when
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.types import RegistrationToken

app = typer.Typer(
    help="Registration tokens: let chosen people sign up while registration is closed.",
    no_args_is_help=True,
)

Token = Annotated[str, typer.Argument(help="The token.")]
Uses = Annotated[int | None, typer.Option("--uses", min=1, help="How many accounts it may create.")]
Expires = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="When it stops working: YYYY-MM-DD, a date-time, or a duration such as 30d.",
    ),
]

COLUMNS = [
    Column.key("token", "token"),
    Column.key("uses allowed", "uses_allowed", lambda v: "unlimited" if v is None else str(v)),
    Column.key("used", "completed"),
    Column.key("pending", "pending"),
    Column.key("expires", "expiry_time", lambda v: "never" if v is None else when(v)),
]


def _token(value: str) -> str:
    from wmx.admin.regtokens import check_token

    return checked(check_token, value)


def _future_ms(value: str) -> int:
    from wmx.admin.ids import check_future_ms

    return checked(check_future_ms, value)


@app.command("list")
def list_tokens(
    ctx: typer.Context,
    valid: Annotated[
        bool | None,
        typer.Option("--valid/--invalid", help="Only usable tokens, or only used-up/expired ones."),
    ] = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """List registration tokens with their use counts and expiry."""
    site = open_site(ctx)
    with session(site, url) as admin:
        tokens = admin.tokens.listing(valid=valid)
    emit_rows(tokens, output, COLUMNS, empty="no registration tokens")


@app.command()
def show(
    ctx: typer.Context, token: Token, output: Output = OutputFormat.table, url: AdminUrl = None
) -> None:
    """One token's details."""
    site = open_site(ctx)
    name = _token(token)
    with session(site, url) as admin:
        found = admin.tokens.get(name)
    emit_record(found, output, COLUMNS)


@app.command()
def create(
    ctx: typer.Context,
    uses: Uses = None,
    expires: Expires = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Choose the token (default: random).")
    ] = None,
    length: Annotated[
        int | None, typer.Option("--length", min=1, max=64, help="Length of a random token.")
    ] = None,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Create a token; hand it to the people who should sign up."""
    from wmx.admin.regtokens import DEFAULT_LENGTH, random_token

    site = open_site(ctx)
    if token and length:
        raise InputError("give --token or --length, not both")
    chosen = _token(token) if token else random_token(length or DEFAULT_LENGTH)
    expiry = _future_ms(expires) if expires else None
    with session(site, url) as admin:
        created = admin.tokens.create(token=chosen, uses_allowed=uses, expiry_ms=expiry)
    _print_token(created, output)
    if output is OutputFormat.table:
        server = site.config.server_name
        typer.echo(
            f"New members register on {server} with this token (e.g. in Element: "
            f"'Create account', homeserver {server})."
        )


def _print_token(token: RegistrationToken, output: OutputFormat) -> None:
    emit_record(token, output, COLUMNS)


@app.command()
def update(
    ctx: typer.Context,
    token: Token,
    uses: Uses = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="No limit on uses.")] = False,
    expires: Expires = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expires.")] = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Change how often a token may be used or when it expires."""
    site = open_site(ctx)
    name = _token(token)
    if uses is not None and unlimited:
        raise InputError("give --uses N or --unlimited, not both")
    if expires is not None and no_expiry:
        raise InputError("give --expires DATE or --no-expiry, not both")
    changes: dict[str, int | None] = {}
    if uses is not None or unlimited:
        changes["uses_allowed"] = uses
    if expires is not None or no_expiry:
        changes["expiry_time"] = _future_ms(expires) if expires else None
    if not changes:
        raise InputError("nothing to change: give --uses, --unlimited, --expires or --no-expiry")
    with session(site, url) as admin:
        updated = admin.tokens.update(name, changes)
    _print_token(updated, output)


@app.command()
def delete(
    ctx: typer.Context,
    token: Token,
    yes: Yes = False,
    output: Output = OutputFormat.table,
    url: AdminUrl = None,
) -> None:
    """Delete a token: nobody can register with it any more."""
    site = open_site(ctx)
    name = _token(token)
    with session(site, url) as admin:
        admin.tokens.get(name)
        confirm(f"Delete registration token {name}?", yes)
        admin.tokens.delete(name)
    emit_done(output, f"Registration token {esc(name)} deleted.", {"token": name, "deleted": True})
