"""`wmx init`: create a site, by questions or from options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wmx.cli.common import checked, console
from wmx.errors import InputError
from wmx.present import esc

if TYPE_CHECKING:
    from wmx.site import SitePaths

# wmx.site.model.LETS_ENCRYPT_DIRECTORY, written out so that `--help` needs no model
# import (tests/unit/test_cli_imports.py keeps the two equal).
LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"


def _ask(
    label: str,
    given: str | None,
    default: str | None,
    check: Callable[[str], str],
    interactive: bool,
) -> str:
    """Use the option if given; otherwise ask (again on a bad answer) or fail."""
    option = f"--{label.replace(' ', '-')}"
    value = given
    while True:
        if value is None:
            if not interactive:
                if default is None:
                    raise InputError(f"{option} is required with --defaults")
                value = default
            else:
                value = typer.prompt(label.capitalize(), default=default)
        if not interactive or given is not None:
            return checked(check, value, name=option)
        try:
            return check(value)
        except ValueError as exc:  # asked: say why and ask again
            console.print(f"[red]{esc(exc)}[/]")
            value = None


def init(
    site_dir: Annotated[Path, typer.Argument(help="Directory for the new site (created).")],
    defaults: Annotated[
        bool,
        typer.Option("--defaults", help="Ask nothing: take options and defaults (scripts, tests)."),
    ] = False,
    server_name: Annotated[
        str | None,
        typer.Option(help="Matrix server name (@user:SERVER_NAME). Cannot change later."),
    ] = None,
    homeserver_host: Annotated[
        str | None,
        typer.Option(help="Public host of the homeserver API [default: matrix.SERVER_NAME]."),
    ] = None,
    web_client_host: Annotated[
        str | None, typer.Option(help="Host of the web client [default: element.SERVER_NAME].")
    ] = None,
    admin_email: Annotated[
        str | None, typer.Option(help="Operators' contact e-mail [default: admin@SERVER_NAME].")
    ] = None,
    acme_email: Annotated[
        str | None, typer.Option(help="ACME account e-mail [default: the admin e-mail].")
    ] = None,
    acme_directory: Annotated[
        str, typer.Option(help="ACME directory URL.")
    ] = LETS_ENCRYPT_DIRECTORY,
    host_address: Annotated[
        str, typer.Option(help="Address Ansible connects to (edit inventory.yml for more hosts).")
    ] = "203.0.113.10",
    wikimedia_consumer_key: Annotated[
        str | None,
        typer.Option(
            help="Log in with a Wikimedia account: the key of the OAuth 2.0 consumer "
            "registered on Meta (docs/login.md); its secret is asked without echo, or "
            "stored later with `wmx login client-secret`. [default: passwords]"
        ),
    ] = None,
) -> None:
    """Create a site: `wmx.yaml` (every option commented), `inventory.yml`, `secrets.yml`.

    Without `--defaults` it asks for the server name, host names and e-mails, and whether
    people log in with a Wikimedia account (the consumer's key, then its secret unechoed).
    Example: `wmx init mysite --defaults --server-name example.org`.
    """
    from wmx.site.init import InitAnswers, init_site
    from wmx.site.model import check_email, check_hostname
    from wmx.site.settings.login import check_consumer_key

    interactive = not defaults
    name = _ask("server name", server_name, None, check_hostname, interactive)
    hs = _ask("homeserver host", homeserver_host, f"matrix.{name}", check_hostname, interactive)
    web = _ask("web client host", web_client_host, f"element.{name}", check_hostname, interactive)
    admin = _ask("admin email", admin_email, f"admin@{name}", check_email, interactive)
    acme = _ask("acme email", acme_email, admin, check_email, interactive)
    key = _ask(
        "wikimedia consumer key", wikimedia_consumer_key, "", check_consumer_key, interactive
    )
    answers = InitAnswers(
        server_name=name,
        homeserver_host=hs,
        web_client_host=web,
        admin_email=admin,
        acme_email=acme,
        acme_directory=acme_directory,
        host_address=host_address,
    )
    paths = init_site(site_dir, answers)
    if key:
        _wikimedia_login(paths, key, interactive)
    console.print(f"Created site [bold]{esc(paths.root)}[/] for [bold]{esc(name)}[/].")
    console.print(
        "Next: review wmx.yaml and inventory.yml, then `wmx deploy` (or `wmx lab up` to try it)."
    )


def _wikimedia_login(paths: SitePaths, key: str, interactive: bool) -> None:
    """`login:` on with the consumer's key; its secret asked now, or how to store it."""
    from wmx.cli.login import store_client_secret
    from wmx.site.config_edit import set_value

    set_value(paths, "login", f"{{provider: wikimedia, consumer_key: '{key}'}}", deployed=False)
    if interactive:
        store_client_secret(paths.secrets, stdin=False)
    else:
        console.print(
            "Store the Wikimedia consumer's secret (asked without echo): "
            f"`wmx --site {esc(paths.root)} login client-secret`.",
            soft_wrap=True,
        )
