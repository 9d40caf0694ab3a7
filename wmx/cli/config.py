"""`wmx config`: validate, read and change settings in wmx.yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from wmx.cli.common import StdinOption, group, open_site, site_root, store_password

app = group("config")


@app.command()
def validate(ctx: typer.Context) -> None:
    """Check wmx.yaml and inventory.yml; errors name file, line, key and what is allowed."""
    from wmx.ops.settings import validate_command

    validate_command(open_site(ctx))


@app.command()
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted name, e.g. synapse.log_level.")],
) -> None:
    """Print one setting (sections print as JSON)."""
    from wmx.ops.settings import get_command

    get_command(open_site(ctx), key)


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Dotted name, e.g. synapse.max_upload_size_mb.")],
    value: Annotated[
        str,
        typer.Argument(
            help="New value, read as YAML (50, true, text). A mapping ({a: 1}) is merged "
            "into the section: keys it does not name keep their values."
        ),
    ],
) -> None:
    """Change one setting; the file is written only if the result is valid. Comments stay."""
    from wmx.ops.settings import set_command

    set_command(site_root(ctx), key, value)


@app.command("smtp-password")
def smtp_password(ctx: typer.Context, stdin: StdinOption = False) -> None:
    """Store the password of Synapse's mail relay (synapse.email.smtp_user) in secrets.yml.

    Asked for without echo, or read from standard input: never from the command line.
    Apply with `wmx deploy --only synapse`.
    """
    site = open_site(ctx)
    off = None if site.config.synapse.email.smtp_host else "synapse.email.smtp_host is empty"
    store_password(site, "synapse_smtp_password", stdin=stdin, component="synapse", unused=off)
