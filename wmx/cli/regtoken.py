"""`wmx regtoken`: registration tokens, how a chapter onboards members while
registration stays closed to everyone else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.admin_support import Cmd, command, ids, lazy
from wmx.cli.common import checked, group
from wmx.errors import InputError

if TYPE_CHECKING:
    from wmx.admin.actions import service as ops
else:
    ops = lazy("wmx.admin.actions.service")

app = group("regtoken")

Token = Annotated[str, typer.Argument(help="The token.")]
# Synapse keeps uses_allowed in a 32-bit integer column: a larger count had been a 500.
Uses = Annotated[
    int | None,
    typer.Option("--uses", min=1, max=2**31 - 1, help="How many accounts it may create."),
]
Expires = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="When it stops working: YYYY-MM-DD, a date-time, or a duration such as 30d.",
    ),
]


@command(app, "list")
def list_tokens(
    cmd: Cmd,
    valid: Annotated[
        bool | None,
        typer.Option("--valid/--invalid", help="Only usable tokens, or only used-up/expired ones."),
    ] = None,
) -> None:
    """List registration tokens with their use counts and expiry."""
    cmd.run(ops.tokens, valid)


@command(app)
def show(cmd: Cmd, token: Token) -> None:
    """One token's details."""
    cmd.run(ops.token, checked(ids.check_token, token))


@command(app, yes="accepted")
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
    if token and length:
        raise InputError("give --token or --length, not both")
    expiry = checked(ids.check_future_ms, expires) if expires else None
    cmd.run(
        ops.create_token, checked(ids.check_token, token) if token else None, length, uses, expiry
    )


@command(app, yes="accepted")
def update(
    cmd: Cmd,
    token: Token,
    uses: Uses = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="No limit on uses.")] = False,
    expires: Expires = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expires.")] = False,
) -> None:
    """Change how often a token may be used or when it expires."""
    name = checked(ids.check_token, token)
    expiry_ms = checked(ids.check_future_ms, expires) if expires is not None else None
    changes = ops.token_changes(
        uses=uses, unlimited=unlimited, expiry_ms=expiry_ms, no_expiry=no_expiry
    )
    cmd.run(ops.update_token, name, changes)


@command(app, yes=True)
def delete(cmd: Cmd, token: Token) -> None:
    """Delete a token: nobody can register with it any more."""
    cmd.run(ops.delete_token, checked(ids.check_token, token))
