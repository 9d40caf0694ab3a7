"""The `wmx` command: one Typer sub-app per command group, joined here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text
from typer._click.core import Context as ClickContext  # typer vendors click
from typer.core import TyperGroup

from wmx import __version__
from wmx.cli import admin as admin_cli
from wmx.cli import backup as backup_cli
from wmx.cli import config as config_cli
from wmx.cli import deploy as deploy_cli
from wmx.cli import doctor as doctor_cli
from wmx.cli import init as init_cli
from wmx.cli import irc as irc_cli
from wmx.cli import lab as lab_cli
from wmx.cli import login as login_cli
from wmx.cli import logs as logs_cli
from wmx.cli import media as media_cli
from wmx.cli import monitoring as monitoring_cli
from wmx.cli import notice as notice_cli
from wmx.cli import regtoken as regtoken_cli
from wmx.cli import reports as reports_cli
from wmx.cli import room as room_cli
from wmx.cli import secrets as secrets_cli
from wmx.cli import status as status_cli
from wmx.cli import upgrade as upgrade_cli
from wmx.cli import user as user_cli
from wmx.cli.common import err_console
from wmx.errors import WmxError


class WmxGroup(TyperGroup):
    """Turns a WmxError anywhere below into a one-line cause on stderr and its exit code."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except WmxError as exc:
            for line in str(exc).splitlines():
                err_console.print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="wmx",
    cls=WmxGroup,
    help="Deploy and run a complete Matrix chat service for Wikimedia communities.\n\n"
    "Start with `wmx init SITE`, try it on a throwaway host with `wmx lab up`, "
    "then `wmx deploy`.",
    no_args_is_help=True,
    # Locals in tracebacks can hold secrets: never show them.
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wmx {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    site: Annotated[
        Path | None,
        typer.Option(
            "--site",
            "-s",
            help="Site directory (default: $WMX_SITE, or the current directory).",
            file_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = {"site": str(site) if site else None}


app.command("init")(init_cli.init)
app.add_typer(config_cli.app, name="config")
app.add_typer(secrets_cli.app, name="secrets")
app.command("render")(deploy_cli.render)
app.command("diff")(deploy_cli.diff)
app.command("deploy")(deploy_cli.deploy)
app.add_typer(lab_cli.app, name="lab")
app.add_typer(irc_cli.app, name="irc")
app.add_typer(admin_cli.app, name="admin")
app.add_typer(backup_cli.app, name="backup")
app.add_typer(user_cli.app, name="user")
app.add_typer(room_cli.app, name="room")
room_cli.app.command("link")(login_cli.room_link)
app.add_typer(login_cli.app, name="login")
app.add_typer(media_cli.app, name="media")
app.add_typer(regtoken_cli.app, name="regtoken")
app.add_typer(notice_cli.app, name="notice")
app.add_typer(reports_cli.app, name="reports")
app.command("status")(status_cli.status)
app.add_typer(upgrade_cli.app, name="upgrade")
app.command("doctor")(doctor_cli.doctor)
app.command("logs")(logs_cli.logs)
app.add_typer(monitoring_cli.app, name="monitoring")


def main() -> None:
    app()
