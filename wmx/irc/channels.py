"""`wmx irc plumb-file`: a list of channels to plumb, read and checked as a whole before
anything is changed.

    # channels.yaml
    network: libera            # optional: the default for the entries (else the first)
    channels:
      - "#wikimedia-de"        # a room #libera_wikimedia-de:<server> is made for it
      - channel: "#wikipedia-de-tech"
        room: "#technik:example.org"   # optional: an existing room (alias or id)
        network: libera                # optional

A bare list of entries (without `channels:`) works too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from wmx.admin.ids import check_room
from wmx.errors import InputError, printable
from wmx.irc.names import check_channel, check_network
from wmx.site import Site
from wmx.site.given import given, unquoted
from wmx.site.yaml_depth import load_bounded
from wmx.site.yamlfile import read_given_file


@dataclass(frozen=True)
class ChannelEntry:
    channel: str
    network: str
    room: str | None = None


# A channel list is a few kB; a file that never ends (/dev/zero) is refused at this size.
MAX_CHANNEL_FILE = 1 << 20


def _field(entry: dict[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: {key} must be a string (quote names starting with #)")
    return value


# A key named in an error: a name as keys of a channel list are (another file's key, a
# long token maybe, is counted, not shown).
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,31}")


def _unknown(keys: set[Any]) -> str:
    names = sorted(k for k in keys if isinstance(k, str) and _KEY.fullmatch(k))
    if not names:
        return f"{len(keys)} unknown key(s) (not shown)"
    others = len(keys) - len(names)
    return f"unknown key(s) {', '.join(names)}{f' and {others} not shown' if others else ''}"


def parse_channel_file(path: Path, site: Site) -> list[ChannelEntry]:
    """Every entry of the file, checked against the site (networks) and the grammar of
    channel names and room ids; the first problem found stops everything."""
    try:  # never read without end (/dev/zero)
        text = read_given_file(path, "a channel list", MAX_CHANNEL_FILE).decode("utf-8")
        data = load_bounded(YAML(typ="safe"), text, given(path))
    except UnicodeDecodeError:
        raise InputError(f"{given(path)}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{given(path)}: cannot read it ({exc.strerror})") from None
    except MarkedYAMLError as exc:  # its text quoted: a secret, if the file is not a list
        mark = exc.problem_mark or exc.context_mark
        at = f":{mark.line + 1}" if mark else ""
        cause = unquoted(str(exc.problem or exc.context))
        raise InputError(f"{given(path)}{at}: not YAML: {printable(cause)}") from None
    except YAMLError:
        raise InputError(f"{given(path)}: not YAML") from None
    default_network: str | None = None
    if isinstance(data, dict):
        unknown = set(data) - {"network", "channels"}
        if unknown:
            raise InputError(f"{given(path)}: {_unknown(unknown)}")
        default_network = data.get("network")
        data = data.get("channels")
    if not isinstance(data, list) or not data:
        raise InputError(f"{given(path)}: expected a list of channels (or `channels:` with one)")
    entries: list[ChannelEntry] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(data, start=1):
        where = f"{given(path)}: entry {index}"
        if isinstance(item, str):
            item = {"channel": item}
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a channel name or channel/room/network")
        unknown = set(item) - {"channel", "room", "network"}
        if unknown:
            raise InputError(f"{where}: {_unknown(unknown)}")
        raw = _field(item, "channel", where)
        if not raw:
            raise InputError(f"{where}: channel is missing")
        try:
            channel = check_channel(raw)
        except ValueError as exc:  # quoted if written as a channel is, else not repeated
            said = str(exc) if raw.startswith("#") else f"{unquoted(str(exc))} (not repeated here)"
            raise InputError(f"{where}: {said}") from None
        try:
            room = _field(item, "room", where)
            room = check_room(room) if room else None
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        try:
            network = check_network(site, _field(item, "network", where) or default_network)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        key = (network.name, channel.lower())
        if key in seen:
            raise InputError(f"{where}: {channel} on {network.name} is listed twice")
        seen.add(key)
        entries.append(ChannelEntry(channel=channel, network=network.name, room=room))
    return entries
