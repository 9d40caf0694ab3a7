"""Generated secrets of a site: created once with a CSPRNG, kept in `secrets.yml` (0600).

Values are never printed; `Secrets.__repr__` hides them so that a traceback or a debug
print cannot leak one, and no error message quotes a value.

A secret is never replaced behind the operator's back: one that is missing or empty is
refused at load (the file is restored from where it is kept, or the secret is rotated on
purpose with `wmx secrets rotate NAME`). Only a secret that a newer wmx introduces is
generated on load, and wmx says so.
"""

from __future__ import annotations

import difflib
import io
import re
import secrets as csprng
import stat
import sys
from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeGuard

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.reader import ReaderError

from wmx.errors import InputError
from wmx.site.yaml_depth import load_bounded
from wmx.site.yamlfile import locked, read_text, refuse_link_out, write_atomically

SECRETS_FILE = "secrets.yml"
# The file records which secrets existed when it was written: a missing secret that a
# later version introduced is added, any other missing secret is an error.
VERSION_KEY = "secrets_version"


def _token() -> str:
    # 48 url-safe characters: ~288 bits, and safe inside YAML, SQL and shell quoting.
    return csprng.token_urlsafe(36)


@dataclass(frozen=True)
class Secrets:
    registration_shared_secret: str
    macaroon_secret_key: str
    form_secret: str
    postgres_password: str
    # The password of `wmx-admin`, the account wmx itself uses for the Admin API.
    wmx_admin_password: str
    # Basic-auth password of remote Prometheus servers (monitoring.remote_scrape).
    prometheus_remote_password: str
    # The mail relay's password for alert e-mail (monitoring.smtp.username): the relay's
    # own, so never generated; `wmx monitoring smtp-password` stores it. Empty until then.
    alert_smtp_password: str
    # The IRC bridge's appservice tokens (its registration with Synapse): as_token
    # authenticates the bridge to Synapse, hs_token Synapse to the bridge.
    irc_bridge_as_token: str
    irc_bridge_hs_token: str
    # SASL password of the relay's account on networks with `sasl: true` (register the
    # account with the network's NickServ using it).
    irc_relay_password: str
    # The passphrase of the borg repositories (repokey encryption). Without it (and the
    # repository's key, see `wmx backup export-key`) no backup can be read: keep a copy
    # offline.
    backup_passphrase: str
    # The secret coturn and Synapse share: Synapse derives each user's short-lived TURN
    # credentials from it, coturn checks them (calls, issue 5).
    turn_shared_secret: str
    # The mail relay's password for Synapse's own e-mail (synapse.email.smtp_user): the
    # relay's, so never generated; `wmx config smtp-password` stores it. Empty until then.
    synapse_smtp_password: str
    # The OAuth 2.0 consumer's secret for logging in with a wiki account (login.consumer_key):
    # the wiki's, so never generated; `wmx login client-secret` stores it. Empty until then.
    login_client_secret: str
    # The password of `wmx-canary`, the account `wmx upgrade`'s health gate logs in with
    # (it sends to its own room and reads it back); set on the account before each gate.
    upgrade_canary_password: str
    # The sudo password of the inventory's login user (ansible_user with ansible_become),
    # when its sudo asks for one: the host's, so never generated; `wmx secrets
    # sudo-password` stores it. Empty (the default): sudo asks for none (NOPASSWD).
    sudo_password: str
    # Synapse's workers (synapse.workers, docs/workers.md): the secret every process
    # presents on the main process's replication listener, and Redis's `requirepass`.
    worker_replication_secret: str
    redis_password: str

    def __repr__(self) -> str:
        return "Secrets(<hidden>)"

    __str__ = __repr__

    @classmethod
    def generate(cls) -> Secrets:
        return cls(**{f.name: _initial(f.name) for f in fields(cls)})

    def values(self) -> list[str]:
        """Every secret value that is set, for leak checks."""
        return [getattr(self, f.name) for f in fields(self) if getattr(self, f.name)]


SECRET_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Secrets))
# The secrets_version that introduced each secret. A new secret gets the next number
# (and SECRETS_VERSION follows), so that an older file gains it on load.
INTRODUCED_IN: dict[str, int] = {
    **dict.fromkeys(SECRET_NAMES, 1),
    "upgrade_canary_password": 2,
    "worker_replication_secret": 3,
    "redis_password": 3,
}
SECRETS_VERSION = max(INTRODUCED_IN.values())

# Secrets that come from elsewhere (an operator's account on another service): they
# start empty instead of generated, and are set by the command named here.
SUPPLIED_SECRETS: dict[str, str] = {
    "alert_smtp_password": "wmx monitoring smtp-password",
    "synapse_smtp_password": "wmx config smtp-password",
    "login_client_secret": "wmx login client-secret",
    "sudo_password": "wmx secrets sudo-password",
}

# What replacing each generated secret breaks: said before `wmx secrets rotate` acts.
ROTATION_EFFECTS: dict[str, str] = {
    "registration_shared_secret": "Synapse gets the new secret at the next deploy (it "
    "restarts); wmx's own admin sign-in uses it from then on. Nothing outside wmx uses it.",
    "macaroon_secret_key": "Synapse signs guest access tokens, short-lived login tokens "
    "(single sign-on) and some sessions with it: after the next deploy those stop working "
    "and the people using them must sign in again.",
    "form_secret": "links to forms already sent (consent, some e-mail links) stop working "
    "after the next deploy.",
    "postgres_password": "the next deploy sets the new password in PostgreSQL and in "
    "Synapse, the exporter and the backup job, and restarts Synapse.",
    "wmx_admin_password": "the next wmx admin command finds the old password refused and "
    "sets the new one on wmx-admin through the registration shared secret.",
    "prometheus_remote_password": "remote Prometheus servers scraping this site "
    "(monitoring.remote_scrape) are refused until their configuration has the new password.",
    "irc_bridge_as_token": "the next deploy re-registers the IRC bridge with Synapse and "
    "restarts both; bridged IRC connections drop and reconnect.",
    "irc_bridge_hs_token": "the next deploy re-registers the IRC bridge with Synapse and "
    "restarts both; bridged IRC connections drop and reconnect.",
    "irc_relay_password": "the relay's SASL login fails on networks with `sasl: true` until "
    "its NickServ account there has the new password.",
    "backup_passphrase": "existing borg repositories stay encrypted with the CURRENT "
    "passphrase: after the next deploy backups into them fail, and restoring any earlier "
    "backup needs the old passphrase. Change it in every repository first (borg key "
    "change-passphrase) and keep the old one offline.",
    "turn_shared_secret": "coturn and Synapse get the new secret at the next deploy; calls "
    "in progress may drop.",
    "upgrade_canary_password": "the next `wmx upgrade` sets the new password on the canary "
    "account (wmx-canary) before its health gate; nothing else uses it.",
    "worker_replication_secret": "with workers on, the next deploy gives every Synapse "
    "process the new secret and restarts them; replication between them stops until then.",
    "redis_password": "with workers on, the next deploy gives Redis and every Synapse "
    "process the new password and restarts them; replication stops until then.",
}

# What wmx generates (token_urlsafe), with room for a longer value restored by hand.
_GENERATED = re.compile(r"[A-Za-z0-9_-]{16,512}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_SUPPLIED = 1024


def _initial(name: str) -> str:
    return "" if name in SUPPLIED_SECRETS else _token()


class SecretsError(InputError):
    """secrets.yml is missing, unsafe or incomplete: one line, exit 2, no value shown."""


def _restore_advice(name: str) -> str:
    return (
        f"restore secrets.yml from where you keep its copy; to replace {name} on purpose, "
        f"run `wmx secrets rotate {name}` (it says what that breaks)"
    )


# secrets.yml's first line. `--password-file secrets.yml` would otherwise take it as the
# password (wmx.admin.passwords refuses a file that begins so).
SECRETS_HEADER = "# Generated by wmx. Keep private: never commit, never paste."


def write_secrets(path: Path, value: Secrets) -> None:
    """Write atomically with mode 0600 from the first byte (no window where it is readable)."""
    out = io.StringIO()
    out.write(f"{SECRETS_HEADER}\n")
    out.write("# Keep a copy offline: a lost secret cannot be regenerated without harm.\n")
    data = {VERSION_KEY: SECRETS_VERSION, **{n: getattr(value, n) for n in SECRET_NAMES}}
    YAML().dump(data, out)
    write_atomically(path, out.getvalue(), 0o600, keep_mode=False)


def _read(path: Path) -> dict[str, Any]:
    """The raw mapping of secrets.yml, refusing a missing, open or unreadable file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretsError(
            f"{path}: missing; restore it from where you keep its copy (`wmx init` creates "
            "it for a new site only)"
        ) from None
    except OSError as exc:
        raise SecretsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    # Only a regular file is told to chmod (a link to /dev/zero is 0666 too): anything
    # else is refused by read_text, saying what it is. A link out of the site is refused
    # first: its target is not this site's to chmod, and may be another site's secrets,
    # which this site's render would send to its own hosts.
    if stat.S_ISREG(mode):
        refuse_link_out(path, path.parent)
    if stat.S_ISREG(mode) and mode & 0o077:
        raise SecretsError(
            f"{path}: readable by others (mode {mode & 0o777:04o}); run `chmod 600 {path}`"
        )
    text = read_text(path)
    try:
        data = load_bounded(YAML(typ="safe", pure=True), text, str(path), name_keys=False)
    except MarkedYAMLError as exc:
        # The cause is not shown: ruamel quotes the text near the error, a secret maybe.
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise SecretsError(f"{path}{line}: broken YAML (cause not shown: secrets)") from None
    except ReaderError as exc:  # a control character: its line, from its position
        line = f":{text[: max(exc.position, 0)].count(chr(10)) + 1}"
        raise SecretsError(f"{path}{line}: broken YAML (cause not shown: secrets)") from None
    except YAMLError:
        raise SecretsError(f"{path}: broken YAML (cause not shown: secrets)") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SecretsError(f"{path}:1: expected a mapping of secret names to values")
    return data


def secret_line(path: Path, key: object) -> str:
    """`path:line` of the line where `key` is written (the file was read just before),
    or `path` alone; found by its name only, so that no value is parsed or quoted."""
    try:
        text = read_text(path)
    except InputError:
        return str(path)
    name = re.escape(str(key))
    found = re.search(rf"^(?:{name}|'{name}'|\"{name}\")[ \t]*:", text, re.MULTILINE)
    return f"{path}:{text[: found.start()].count(chr(10)) + 1}" if found else str(path)


def _checked(
    path: Path, data: dict[str, Any], *, allow_missing: Collection[str] = ()
) -> dict[str, str | None]:
    """Each known secret's value (None where missing and a newer wmx introduced it)."""
    version = data.pop(VERSION_KEY, 1)
    if type(version) is not int or version < 1:
        raise SecretsError(
            f"{secret_line(path, VERSION_KEY)}: {VERSION_KEY}: must be a whole number ≥ 1"
        )
    if version > SECRETS_VERSION:
        raise SecretsError(
            f"{secret_line(path, VERSION_KEY)}: written by a newer wmx ({VERSION_KEY} {version}, "
            f"this one knows {SECRETS_VERSION}); upgrade wmx"
        )
    for key in data:
        if key not in INTRODUCED_IN:
            raise SecretsError(_unknown(path, key))
    _refuse_several_unusable(path, data, version, allow_missing)
    values: dict[str, str | None] = {}
    for name in SECRET_NAMES:
        value = data.get(name)
        if name not in data and INTRODUCED_IN[name] > version:
            values[name] = None  # new in this wmx: generated by the caller
        elif name in allow_missing:
            values[name] = value if isinstance(value, str) else None
        elif name in SUPPLIED_SECRETS:
            values[name] = _supplied(path, name, value)
        else:
            values[name] = _generated(path, name, data, value)
    return values


# A name as wmx's secrets are named; any other key is not quoted.
_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def _unknown(path: Path, key: object) -> str:
    """An unknown name, at its line. The name is quoted only when it is a misspelling of
    a secret's name: in a name's place may be a value (a line whose name and value were
    swapped, a paste in the wrong place), and no message quotes a value."""
    text = key if isinstance(key, str) and len(key) <= 64 and _NAME.fullmatch(key) else ""
    close = difflib.get_close_matches(text, SECRET_NAMES, n=1) if text else []
    where = secret_line(path, key) if close else _unknown_line(path)
    if close:
        return f"{where}: unknown secret {text!r} (did you mean {close[0]!r}?)"
    return (
        f"{where}: not the name of a secret wmx keeps (not shown: a value may be in its "
        "place); correct or remove that line"
    )


def _unknown_line(path: Path) -> str:
    """`path:line` of the first name of secrets.yml (its top-level keys, as written,
    nothing built from them) that is no secret's, or `path`."""
    try:
        node = YAML(typ="safe", pure=True).compose(read_text(path))
    except (InputError, YAMLError):
        return str(path)
    known = {VERSION_KEY, *INTRODUCED_IN}
    for key, _ in node.value if isinstance(node, MappingNode) else ():
        tag = str(key.tag)
        plain = isinstance(key, ScalarNode) and tag.endswith(":str") and key.value in known
        if not plain and not tag.endswith(":merge"):
            return f"{path}:{key.start_mark.line + 1}"
    return str(path)


def _as_wmx_writes(value: object) -> TypeGuard[str]:
    """Whether `value` is a generated secret as wmx writes one."""
    return isinstance(value, str) and _GENERATED.fullmatch(value) is not None


def _refuse_several_unusable(
    path: Path, data: dict[str, Any], version: int, allow_missing: Collection[str]
) -> None:
    """Several generated secrets lost at once (a truncated or emptied file) are named in
    one line, with the one command that replaces them all: naming the first only would
    send the operator from one `wmx secrets rotate` refusal to the next."""
    unusable = [
        name
        for name in SECRET_NAMES
        if name not in SUPPLIED_SECRETS
        and name not in allow_missing
        and (name in data or INTRODUCED_IN[name] <= version)
        and not _as_wmx_writes(data.get(name))
    ]
    if len(unusable) > 1:
        names = " ".join(unusable)
        raise SecretsError(
            f"{path}: {len(unusable)} secrets are missing, empty or not as wmx writes them "
            f"(values not shown): {', '.join(unusable)}; restore secrets.yml from where you "
            f"keep its copy; to replace them on purpose, run `wmx secrets rotate {names}` "
            "(it says what that breaks)"
        )


def _supplied(path: Path, name: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or _CONTROL.search(value) or len(value) > _MAX_SUPPLIED:
        raise SecretsError(
            f"{secret_line(path, name)}: {name}: must be one line of text without control "
            f"characters (value not shown); set it again with `{SUPPLIED_SECRETS[name]}`"
        )
    return value


def _given(name: str, value: str) -> None:
    """Refuse a value given for supplied secret `name` (typed, or read from standard
    input) that could not be kept, as the value given: checked as _supplied checks the
    file, that check's message blamed secrets.yml, which was not the problem. Standard
    input that is not UTF-8 comes as lone surrogates (Python's surrogateescape): kept,
    they were not the bytes given and could not be written out when used."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problem = "is not UTF-8 text"
    else:
        if not (_CONTROL.search(value) or len(value) > _MAX_SUPPLIED):
            return
        problem = (
            f"must be one line of at most {_MAX_SUPPLIED} characters without control characters"
        )
    raise InputError(f"{name}: the value given {problem} (value not shown); nothing stored")


def _generated(path: Path, name: str, data: dict[str, Any], value: object) -> str:
    if name not in data:
        raise SecretsError(f"{path}: {name} is missing; {_restore_advice(name)}")
    if value is None or value == "":
        raise SecretsError(f"{secret_line(path, name)}: {name} is empty; {_restore_advice(name)}")
    if not _as_wmx_writes(value):
        raise SecretsError(
            f"{secret_line(path, name)}: {name}: not a secret as wmx writes it (16 to 512 "
            f"letters, digits, '-' or '_'; value not shown); {_restore_advice(name)}"
        )
    return value


def secrets_pass(path: Path) -> bool:
    """Whether secrets.yml at `path` would load (nothing written, nothing said)."""
    try:
        _checked(path, _read(path))
    except InputError:
        return False
    return True


def load_secrets(path: Path) -> Secrets:
    """Load and check; add (and save, saying so on stderr) secrets a newer wmx introduced."""
    values = _checked(path, _read(path))
    added = sorted(name for name, value in values.items() if value is None)
    if not added:
        return Secrets(**{n: v or "" for n, v in values.items()})
    with locked(path):
        # Again under the lock: another wmx run may have added them meanwhile.
        values = _checked(path, _read(path))
        added = sorted(name for name, value in values.items() if value is None)
        result = Secrets(**{n: _initial(n) if v is None else v for n, v in values.items()})
        if added:
            write_secrets(path, result)
    if added:
        print(
            f"wmx: {path}: added {', '.join(added)} (new in this version of wmx); "
            "update the copy of secrets.yml you keep",
            file=sys.stderr,
        )
    return result


def rotation_effect(name: str) -> str:
    """What replacing secret `name` breaks; refuses names that cannot be rotated."""
    if name in SUPPLIED_SECRETS:
        raise InputError(
            f"{name} is not generated by wmx (it comes from another service); set it "
            f"with `{SUPPLIED_SECRETS[name]}`"
        )
    if name not in ROTATION_EFFECTS:
        close = difflib.get_close_matches(name, list(ROTATION_EFFECTS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"unknown secret {name[:64]!r}{hint}; known: {', '.join(ROTATION_EFFECTS)}"
        )
    return ROTATION_EFFECTS[name]


def rotate_secrets(path: Path, names: Collection[str]) -> None:
    """Replace each secret of `names` with a new random value (each may be missing or
    empty now), in one write."""
    for name in names:
        rotation_effect(name)
    with locked(path):
        values = _checked(path, _read(path), allow_missing=names)
        values.update({name: _token() for name in names})
        write_secrets(
            path, Secrets(**{n: _initial(n) if v is None else v for n, v in values.items()})
        )


def store_secret(path: Path, name: str, value: str) -> Secrets:
    """Keep a supplied secret (a relay's password) in secrets.yml, under the file's lock."""
    if name not in SUPPLIED_SECRETS:
        raise InputError(f"{name} is generated by wmx; replace it with `wmx secrets rotate`")
    _given(name, value)
    with locked(path):
        values = _checked(path, _read(path))
        current = Secrets(**{n: _initial(n) if v is None else v for n, v in values.items()})
        result = replace(current, **{name: value})
        write_secrets(path, result)
    return result
