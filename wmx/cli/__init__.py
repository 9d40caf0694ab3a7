"""The `wmx` command: one Typer sub-app per command group, joined here.

The root group is lazy: it holds a table of its commands (name, module, one-line help)
and imports a command's module only when that command is run, completed or walked.
`wmx --help` and the completion of a first word list the table without importing any
command module; `wmx render` imports wmx.cli.deploy alone.
"""

from __future__ import annotations

import gc
import io
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click.core import Command as ClickCommand  # typer vendors click
from typer._click.core import Context as ClickContext
from typer._click.shell_completion import CompletionItem
from typer.core import TyperCommand, TyperGroup

from wmx import __version__
from wmx.cli.common import err_console
from wmx.errors import DISK_REFUSED, WmxError, WriteRefused
from wmx.present import plain_help, print_error
from wmx.present_usage import refuse_empty, refuse_empty_values, usage_errors

# wmx uses no pydantic plugin; pydantic's search for them (reading every installed
# package's entry points) costs each command a few hundredths of a second. An explicit
# setting by the user is kept. See pydantic's docs, "Plugins" (PYDANTIC_DISABLE_PLUGINS).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# Every command of `wmx`, in the order `wmx --help` lists them: name, "module:attribute"
# (a Typer sub-app for a group, a function for a command) and the first paragraph of its
# help, which `wmx --help` shows without importing the module
# (tests/unit/test_cli_lazy.py checks it against the module's own help).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "wmx.cli.init:init",
     "Create a site: `wmx.yaml` (every option commented), `inventory.yml`, `secrets.yml`."),
    ("render", "wmx.cli.deploy:render",
     "Write every file the hosts will receive to build/HOST/… (no host is touched)."),
    ("diff", "wmx.cli.deploy:diff",
     "Show what `wmx deploy` would change in the files and role vars (versions, …),\n"
     "against the last successful deploy."),
    ("deploy", "wmx.cli.deploy:deploy", "Render the site and converge its hosts with Ansible."),
    ("status", "wmx.cli.observe:status",
     "Show each host's services (systemd state, version, uptime), disk and memory, the\n"
     "certificate's expiry, the last backup, firing alerts and key Synapse figures."),
    ("doctor", "wmx.cli.observe:doctor",
     "Check the site from outside, as another homeserver would (DNS, .well-known,\n"
     "federation endpoint, TLS, signed server keys, versions), and from inside, as a\n"
     "careful operator would (clocks, disk, memory, registration, link previews, what must\n"
     "stay private, PostgreSQL's collation, backups and the signing key in them, Synapse\n"
     "against PyPI)."),
    ("logs", "wmx.cli.observe:logs",
     "Print a service's journal from the host that runs it (over SSH)."),
    ("dns", "wmx.cli.observe:dns",
     "List the DNS records this site needs: A/AAAA records of every name the proxy\n"
     "serves (server name, homeserver, web client, TURN) and a CAA suggestion."),
    ("config", "wmx.cli.config:app", "Read, change and check the site's settings (wmx.yaml)."),
    ("secrets", "wmx.cli.secrets:app",
     "The site's generated secrets (secrets.yml): values are never shown."),
    ("lab", "wmx.cli.lab:app",
     "Throwaway Debian 13 (or 12) hosts on this machine (systemd-nspawn, needs root): "
     "`wmx lab up`, then `wmx deploy` as to any VPS."),
    ("irc", "wmx.cli.irc:app",
     "The IRC bridge (Heisenbridge): networks, status, and IRC channels plumbed into "
     "Matrix rooms (relay mode). See docs/irc.md."),
    ("admin", "wmx.cli.admin:app", "Bootstrap administration of the homeserver."),
    ("backup", "wmx.cli.backup:app",
     "Backups that are restored, not just taken: borg archives of the database, media, "
     "signing key and configuration; restore and drill them."),
    ("user", "wmx.cli.user:app",
     "Accounts: list, create, import, reset passwords, deactivate, moderate."),
    ("room", "wmx.cli.room:app",
     "Rooms: list, inspect, delete, block, purge history, directory and aliases."),
    ("login", "wmx.cli.login:app",
     "Logging in with a Wikimedia account (the wiki's OAuth 2.0 consumer)."),
    ("media", "wmx.cli.media:app",
     "Media: list, quarantine, protect, delete, purge cached remote media."),
    ("regtoken", "wmx.cli.regtoken:app",
     "Registration tokens: let chosen people sign up while registration is closed."),
    ("notice", "wmx.cli.notice:app",
     "Server notices: messages from the homeserver itself to its users."),
    ("reports", "wmx.cli.reports:app", "Event reports: messages users flagged to the admins."),
    ("upgrade", "wmx.cli.upgrade:app",
     "Upgrade Synapse, the IRC bridge or the web client with a plan, a gate and a way back;\n"
     "move PostgreSQL or a host's Debian release to the next one."),
    ("monitoring", "wmx.cli.monitoring:app",
     "Monitoring extras: Grafana provisioning, the alert mail relay's password."),
    ("bench", "wmx.cli.bench:bench",
     "Load a deployment: N users in M rooms send messages at a given rate, each timed\n"
     "from its send to its arrival in another member's /sync."),
)  # fmt: skip


def _build(name: str, target: str) -> ClickCommand:
    """The click command of one table entry, built as `app.command(name)` or
    `app.add_typer(sub_app, name=name)` on the root app would have built it."""
    module_name, attribute = target.split(":")
    obj = getattr(import_module(module_name), attribute)
    holder = typer.Typer(rich_markup_mode=app.rich_markup_mode)
    options: dict[str, Any] = {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
    }
    if isinstance(obj, typer.Typer):
        if name == "room":
            _add_room_link(obj)
        holder.add_typer(obj, name=name)
        built: ClickCommand = typer.main.get_group_from_info(
            holder.registered_groups[0], suggest_commands=app.suggest_commands, **options
        )
    else:
        holder.command(name)(obj)
        built = typer.main.get_command_from_info(holder.registered_commands[0], **options)
    refuse_empty_values(built)
    return built


def _add_room_link(room_app: typer.Typer) -> None:
    """`wmx room link` lives with the login commands (it links a room to the wiki)."""
    if not any(info.name == "link" for info in room_app.registered_commands):
        from wmx.cli.login import room_link

        room_app.command("link")(room_link)


class _LazyCommands(Mapping[str, ClickCommand]):
    """The root's commands by name: each built (its module imported) when first read."""

    def __init__(self) -> None:
        self._targets = {name: target for name, target, _ in COMMANDS}
        self._built: dict[str, ClickCommand] = {}

    def __getitem__(self, name: str) -> ClickCommand:
        if name not in self._built:
            self._built[name] = _build(name, self._targets[name])
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._targets  # Mapping's own would build the command

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)


class WmxGroup(TyperGroup):
    """The root group. Turns a WmxError anywhere below into a one-line cause on stderr
    and its exit code; imports a command's module only when that command is needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, ClickCommand] = _LazyCommands()  # type: ignore[assignment]
        for param in self.params:  # the root's own (`--site ''`); not its commands yet
            refuse_empty(param)
        self._listing = False

    def list_commands(self, ctx: ClickContext) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        if self._listing and cmd_name in self.commands:
            # Listing only (help, completion of the command's name): name and help.
            help_text = next(text for name, _, text in COMMANDS if name == cmd_name)
            return TyperCommand(cmd_name, help=help_text)
        return self.commands.get(cmd_name)

    @contextmanager
    def _listing_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: ClickContext, formatter: Any) -> None:
        with self._listing_only():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: ClickContext, incomplete: str) -> list[CompletionItem]:
        with self._listing_only():
            return super().shell_complete(ctx, incomplete)

    def make_context(self, *args: Any, **kwargs: Any) -> ClickContext:
        with usage_errors():  # the root's own options (`wmx --site`): one line, exit 2
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            with usage_errors():  # every subcommand's words, at any depth: the same
                return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C: exit status 130 as shells say (not "Aborted!")
            err_console.print()
            raise typer.Exit(130) from None
        except typer.Abort as exc:  # click's prompt: Ctrl-C or the end of standard input
            err_console.print()  # the question's line ends
            if isinstance(exc.__context__, KeyboardInterrupt):
                raise typer.Exit(130) from None
            return _fail(WmxError(UNANSWERED))
        except OSError as exc:
            # A disk that refuses a write (full, read-only, over quota) is the operator's to
            # fix, not wmx's bug: write_atomically's one line (WriteRefused), exit 1.
            if exc.errno not in DISK_REFUSED:
                raise
            return _fail(WriteRefused(exc.filename, exc))
        except WmxError as exc:
            return _fail(exc)


# A question at a prompt (a confirmation, a password) met the end of standard input
# (</dev/null, a script's pipe, Ctrl-D): Typer's "Aborted.", exit 1, in wmx's words.
UNANSWERED = "standard input ended before the question was answered (--yes answers a confirmation)"


def _fail(exc: WmxError) -> NoReturn:
    for line in exc.lines:
        print_error(line)
    raise typer.Exit(exc.exit_code) from None


plain_help()  # --help writes flags, lists and arguments as the docs do

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
            help="Site directory (default: $WMX_SITE, else the current directory or the "
            "nearest parent holding wmx.yaml).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = {"site": str(site) if site else None}


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe that is not UTF-8 (PYTHONIOENCODING=latin-1, an old
        # terminal) gets "?" for the characters it cannot show ("…", "✓"), not a
        # UnicodeEncodeError from the first of them.
        if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower() != "utf-8":
            stream.reconfigure(errors="replace")
    try:
        app()
    finally:
        # The command is done and the process about to exit, which frees its memory
        # anyway: spare the cyclic collector its last pass over every object left
        # (0.03 s for `wmx render`). Files are closed by their `with` blocks, and the
        # standard streams are flushed at exit as always.
        gc.freeze()
