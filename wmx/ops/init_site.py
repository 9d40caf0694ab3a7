"""`wmx init`: each answer from its option or asked (again after a wrong answer; the
defaults follow from the server name), the site written, and with a Wikimedia consumer's
key the login switched on, its secret asked without echo or left to
`wmx login client-secret`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wmx.present import ask, console, esc, read_secret
from wmx.site import SitePaths
from wmx.site.config_edit import set_value
from wmx.site.init import InitAnswers, init_site
from wmx.site.model import check_email, check_hostname
from wmx.site.secrets import store_secret
from wmx.site.settings.login import check_consumer_key


def create_site(
    site_dir: Path,
    interactive: bool,
    given: dict[str, str | None],
    acme_directory: str,
    host_address: str,
) -> None:
    """The answers (`given` holds the options by name, None where not given), the site
    written, the login switched on when a consumer key is given, then what comes next."""

    def answer(label: str, default: str | None, check: Callable[[str], str]) -> str:
        return ask(label, given[label.replace(" ", "_")], default, check, interactive)

    name = answer("server name", None, check_hostname)
    hs = answer("homeserver host", f"matrix.{name}", check_hostname)
    web = answer("web client host", f"element.{name}", check_hostname)
    admin = answer("admin email", f"admin@{name}", check_email)
    acme = answer("acme email", admin, check_email)
    key = answer("wikimedia consumer key", "", check_consumer_key)
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
        wikimedia_login(paths, key, interactive)
    console.print(f"Created site [bold]{esc(paths.root)}[/] for [bold]{esc(name)}[/].")
    console.print(
        "Next: review wmx.yaml and inventory.yml, then `wmx deploy` (or `wmx lab up` to try it)."
    )


def wikimedia_login(paths: SitePaths, key: str, interactive: bool) -> None:
    """`login:` on with the consumer's key; its secret asked now, or how to store it."""
    set_value(paths, "login", f"{{provider: wikimedia, consumer_key: '{key}'}}", deployed=False)
    if interactive:
        secret = read_secret("Consumer secret", stdin=False)
        store_secret(paths.secrets, "login_client_secret", secret)
    else:
        console.print(
            "Store the Wikimedia consumer's secret (asked without echo): "
            f"`wmx --site {esc(paths.root)} login client-secret`.",
            soft_wrap=True,
        )
