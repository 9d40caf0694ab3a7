"""Remote borg repository URLs, as wmx.yaml may write them."""

from __future__ import annotations

import ipaddress
import re

from wmx.site.grammars import check_host_or_ip, check_port, no_control

# A user, a host, a port, and a path of plain characters: the URL lands in a systemd
# unit's environment and on borg's command line (no quotes, `$`, braces). The host and
# port are split off here and held to the grammars every other host and port of
# wmx.yaml is (check_host_or_ip, check_port): a host name of RFC 1123 labels (never one
# that begins with `-`, which ssh would read as an option, nor `..`) or an IP address
# in its one spelling (`127.1`, `0x7f.1` and `2130706433` are other addresses' old
# spellings), a port 1 to 65535.
_USER = r"[a-z_][a-z0-9_.-]{0,31}"
_HOST = r"(?P<host>[A-Za-z0-9.-]{1,253})"
_IPV6 = r"\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\]"  # ssh://user@[fd00::15]:2222/path, as borg reads it
_PATH = r"[A-Za-z0-9._~/+@=,-]{1,1024}"
_SSH_URL = re.compile(
    rf"ssh://{_USER}@(?:{_HOST}|{_IPV6})(?::(?P<port>[0-9]{{1,5}}))?/{_PATH}", re.ASCII
)
_SCP_STYLE = re.compile(rf"{_USER}@{_HOST}:{_PATH}", re.ASCII)


def check_borg_repository(value: str) -> str:
    text = no_control(value, "remote borg repository").strip(" ")
    found = _SSH_URL.fullmatch(text) or _SCP_STYLE.fullmatch(text)
    parts = found.groupdict() if found else {}
    if not found or not _good_host(parts.get("host"), parts.get("ipv6")) or not _good_port(parts):
        raise ValueError(
            f"{text[:80]!r} is not a remote borg repository: user@host:path or "
            "ssh://user@host[:port]/path, with a host name (such as backup.example.org) or "
            "an IP address (IPv6 in brackets), a port 1 to 65535 (path: letters, digits "
            "and ._~/+@=,- only)"
        )
    return text


def _good_host(host: str | None, ipv6: str | None) -> bool:
    if ipv6 is not None:
        return _is_ipv6(ipv6)
    try:
        check_host_or_ip(host or "")
    except ValueError:
        return False
    return True


def _good_port(parts: dict[str, str | None]) -> bool:
    port = parts.get("port")
    try:
        return port is None or bool(check_port(port))
    except ValueError:
        return False


def repository_host(url: str) -> str:
    """The host of a repository URL check_borg_repository accepted (an IPv6 address
    without its brackets)."""
    rest = url.removeprefix("ssh://").split("@", 1)[1]
    if rest.startswith("["):
        return rest[1 : rest.index("]")]
    return rest.split("/", 1)[0].split(":", 1)[0]


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
