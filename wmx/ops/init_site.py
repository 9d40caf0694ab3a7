"""`wmx init`: each answer from its option or asked (again after a wrong answer; the
defaults follow from the server name), the site written, and with a Wikimedia consumer's
key the login switched on, its secret asked without echo or left to
`wmx login client-secret`."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from wmx.errors import InputError
from wmx.present import ask, console, err_console, esc, read_secret
from wmx.site import SitePaths
from wmx.site.init import InitAnswers, init_site
from wmx.site.model import check_email, check_hostname
from wmx.site.placeholder import is_placeholder
from wmx.site.secrets import store_secret
from wmx.site.settings.login import check_consumer_key

# Worded as a password asked of a script is (wmx.present.ask_hidden), and exit status 2
# as that is: a value the command needs was not given. A confirmation left unanswered is
# another matter, a no (exit 1: wmx.cli.WmxGroup.invoke).
NO_ANSWERS = (
    "standard input ended before the {what} was given: for a run without questions, "
    "`wmx init SITE --defaults --server-name NAME` (the other answers are options too: "
    "`wmx init --help`)"
)

NO_SECRET = (
    "answer it (twice), or leave the consumer key empty and switch the login on later "
    "(docs/login.md)"
)


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
        try:
            return ask(label, given[label.replace(" ", "_")], default, check, interactive)
        except typer.Abort as exc:  # a question not answered: why, in wmx's words
            if isinstance(exc.__context__, KeyboardInterrupt):
                raise KeyboardInterrupt from None  # Ctrl-C: exit status 130, as anywhere
            if isinstance(exc.__context__, EOFError):
                if sys.stdin.isatty():  # a question was asked (on stderr): end its line
                    err_console.print()
                raise InputError(NO_ANSWERS.format(what=label)) from None
            raise

    name = answer("server name", None, with_hint(check_hostname))
    hs = answer("homeserver host", f"matrix.{name}", with_hint(check_hostname))
    web = answer("web client host", f"element.{name}", with_hint(check_hostname))
    admin = answer("admin email", f"admin@{name}", check_email)
    acme = answer("acme email", admin, check_email)
    if interactive and given["wikimedia_consumer_key"] is None and sys.stdin.isatty():
        # The one question a newcomer may not know the answer to: say what it is for.
        err_console.print(
            "Logging in with a Wikimedia account needs the key of an OAuth 2.0 consumer on "
            "Meta (docs/login.md); leave it empty for passwords only (the login can be "
            "switched on later)."
        )
    key = answer("wikimedia consumer key", "", check_consumer_key)
    # Asked before anything is written: a secret not given leaves no half-made site.
    secret = (
        read_secret("Consumer secret", stdin=False, instead=NO_SECRET)
        if key and interactive
        else ""
    )
    answers = InitAnswers(
        server_name=name,
        homeserver_host=hs,
        web_client_host=web,
        admin_email=admin,
        acme_email=acme,
        acme_directory=acme_directory,
        host_address=host_address,
        consumer_key=key,
    )
    paths = init_site(site_dir, answers)
    if key:
        wikimedia_login(paths, secret)
    console.print(f"Created site [bold]{esc(paths.root)}[/] for [bold]{esc(name)}[/].")
    console.print(next_steps(paths, host_address), soft_wrap=True)


def next_steps(paths: SitePaths, host_address: str) -> str:
    """What to do after `wmx init`: with the placeholder address, set the server's first."""
    first = ""
    if is_placeholder(host_address):
        first = (
            f"put your server's address in inventory.yml (ansible_host: {host_address} is a "
            "placeholder), "
        )
    where = "" if paths.root == Path.cwd().resolve() else f"`cd {esc(paths.root)}`, "
    return (
        f"Next: {where}{first}review wmx.yaml and inventory.yml, then `wmx deploy` "
        "(or `wmx lab up` to try it on this machine)."
    )


def with_hint(check: Callable[[str], str]) -> Callable[[str], str]:
    """A host-name grammar whose refusal also says what to type instead, for the usual
    slips: a URL, a port, an internationalised name, an address, a name without a dot."""

    def hinted(value: str) -> str:
        try:
            return check(value)
        except ValueError as exc:
            hint = name_hint(value.strip())
            raise ValueError(f"{exc}; {hint}" if hint else str(exc)) from None

    return hinted


def name_hint(value: str) -> str:
    """What to type instead of `value`, a refused host name (empty: no advice)."""
    bare = value.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = bare.rpartition(":") if bare.count(":") == 1 else (bare, "", "")
    if "://" in value or "/" in value:
        return f"give the name alone: {bare[:80]!r}"
    if port.isdigit():
        return (
            f"give the name alone ({host[:80]!r}); a federation port other than 443 is "
            "wmx.yaml's homeserver.federation_port"
        )
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return "a server name is the DNS name user ids end in (@alice:example.org), not an address"
    if not value.isascii():
        try:
            ascii_form = value.encode("idna").decode()
            return f"write an internationalised name in its ASCII form: {ascii_form!r}"
        except UnicodeError:
            return "write an internationalised name in its ASCII (xn--) form"
    if value and "." not in value:
        return "it needs a domain people can reach, such as example.org (a name in public DNS)"
    return ""


def wikimedia_login(paths: SitePaths, secret: str) -> None:
    """The consumer's secret stored, or how to store it (its key is in wmx.yaml)."""
    if secret:
        store_secret(paths.secrets, "login_client_secret", secret)
    else:
        console.print(
            "Store the Wikimedia consumer's secret (asked without echo): "
            f"`wmx --site {esc(paths.root)} login client-secret`.",
            soft_wrap=True,
        )
