"""`wmx init`: create a site, by questions or from options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# wmx.site.model.LETS_ENCRYPT_DIRECTORY, written out so that `--help` needs no model
# import (tests/unit/test_cli_imports.py keeps the two equal).
LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"


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
            "stored later with `wmx login client-secret`. Default: none (people log in "
            "with passwords)."
        ),
    ] = None,
) -> None:
    """Create a site: `wmx.yaml` (every option commented), `inventory.yml`, `secrets.yml`.

    Without `--defaults` it asks for the server name, host names and e-mails, and whether
    people log in with a Wikimedia account (the consumer's key, then its secret unechoed).
    Example: `wmx init mysite --defaults --server-name example.org`.
    """
    from wmx.ops.init_site import create_site

    given = {
        "server_name": server_name,
        "homeserver_host": homeserver_host,
        "web_client_host": web_client_host,
        "admin_email": admin_email,
        "acme_email": acme_email,
        "wikimedia_consumer_key": wikimedia_consumer_key,
    }
    create_site(site_dir, not defaults, given, acme_directory, host_address)
