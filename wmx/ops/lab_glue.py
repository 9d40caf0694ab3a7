"""Start lab hosts for `wmx lab up` and point a site at them: inventory, ACME directory
and the names the lab resolves."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wmx.errors import InputError
from wmx.lab import addressing, hostrelease, sudouser
from wmx.lab.addressing import SUBNET
from wmx.lab.cinny import cinny_archive
from wmx.lab.element import write_standin_archive
from wmx.lab.sudouser import login_user
from wmx.ops.lab_login import attach_login
from wmx.present import err_console, esc
from wmx.site import SitePaths, load_config
from wmx.site.config_edit import set_value
from wmx.site.inventory import inventory_document
from wmx.site.topology import ONE_HOST_GROUPS
from wmx.site.yamlfile import dump_document, write_atomically

if TYPE_CHECKING:
    from wmx.lab import Lab, LabHost

LAB_MARKER = "# Written by `wmx lab up`: lab hosts on this machine."
LAB_MEMORY_MB = 2048
# The lab's IRC network (wmx/lab/ircd.py), which sites in the lab bridge to.
LAB_IRC_NETWORK = "lab"
LAB_IRC_SERVER = "irc.lab.test:6697:tls"


def lab_inventory_text(
    hosts: list[LabHost], key_path: Path, known_hosts: Path, users: dict[str, str] | None = None
) -> str:
    """The first host runs every component, the second keeps its backups (group `backup`);
    the others wait as spares (restore and drill targets). A host in ``users`` is logged
    in to as that user, who becomes root with sudo (`wmx lab up --sudo-user`)."""
    users = users or {}
    host_vars = {
        h.name: {
            "ansible_host": h.address,
            "ansible_user": users.get(h.name, "root"),
            **({"ansible_become": True} if h.name in users else {}),
            "ansible_ssh_private_key_file": str(key_path),
            # The lab keeps known_hosts current as hosts are recreated, so host keys
            # are checked as strictly as on any VPS.
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes"
            ),
            "memory_mb": LAB_MEMORY_MB,
        }
        for h in hosts
    }
    first = hosts[0].name
    groups: dict[str, list[str]] = {g: [first] for g in ONE_HOST_GROUPS}
    if len(hosts) > 1:
        # The second host keeps a borg repository of the first (wmx.yaml: backup).
        groups["backup"] = [hosts[1].name]
    return f"{LAB_MARKER}\n" + dump_document(inventory_document(host_vars, groups))


@dataclass(frozen=True)
class LabUp:
    """What `wmx lab up` was asked for."""

    hosts: int
    releases: tuple[str, ...] = ()
    from_snapshot: str | None = None
    sudo_user: str | None = None
    on: tuple[str, ...] = ()  # the site's hosts, in order
    site_dir: Path | None = None

    def check(self) -> None:
        """Checked before anything starts: a wrong release, user or host is one line,
        exit 2, and no host boots."""
        if self.from_snapshot and self.releases:
            raise InputError(
                "--release with --from-snapshot: a snapshot's hosts keep their release"
            )
        names = [addressing.host_name(i + 1) for i in range(self.hosts)]
        hostrelease.parse_releases(self.releases, names)
        if self.sudo_user is not None:
            sudouser.check_sudo_user(self.sudo_user)
        if self.on and self.site_dir is None:
            raise InputError("--on places a site: give --site DIR (or run it in a site directory)")
        for name in self.on:
            if not addressing.is_host_name(name) or (
                not self.from_snapshot and addressing.host_index(name) > self.hosts
            ):
                raise InputError(
                    f"--on {name}: not one of lab1..lab{self.hosts} (--hosts {self.hosts})"
                )


def lab_site(given: Path | None, global_site: str | None) -> Path | None:
    """The site `wmx lab up` points at the lab: its --site, else wmx's own --site, else
    the current directory if it is a site.

    Pointing rewrites the site's inventory and ACME settings, so unlike the other
    commands it takes no site from $WMX_SITE or a parent directory (an exported
    production site would be repointed at the lab): it says so when one is there."""
    from wmx.site import find_site_root
    from wmx.site.directory import site_directory

    if given is not None:
        return site_directory(str(given), "--site")
    if global_site:
        return site_directory(global_site, "--site")
    cwd = Path.cwd()
    if (cwd / "wmx.yaml").is_file():
        return cwd
    try:
        near = os.environ.get("WMX_SITE") or str(find_site_root(cwd))
    except InputError:
        return None
    err_console.print(
        f"note: the site {esc(near)} is left as it is; `wmx lab up --site {esc(near)}` "
        "points it at the lab",
        soft_wrap=True,
    )
    return None


def up_command(wanted: LabUp) -> None:
    """`wmx lab up`: checked before anything starts (root too), the hosts started with
    progress on one line, then how to reach them."""
    from wmx.lab.present import busy, show_started

    wanted.check()
    with busy("Starting the lab") as (lab, progress):
        started = bring_up(lab, wanted, progress)
    show_started(lab, started, wanted.site_dir)


def bring_up(lab: Lab, wanted: LabUp, progress: Callable[[str], None]) -> list[LabHost]:
    """Start the hosts (or copies of a snapshot's), make them sudo-only when asked, and
    point the site at them; the hosts started, in order."""
    if wanted.from_snapshot:
        started = lab.up_from_snapshot(wanted.from_snapshot)
    else:
        started = lab.up(wanted.hosts, wanted.releases)
    for host in started if wanted.sudo_user else []:
        progress(f"{host.name}: root login off, sudo user {wanted.sudo_user}")
        lab.sudo_only(host, str(wanted.sudo_user))
    if wanted.site_dir is not None:
        progress(f"Pointing the site {wanted.site_dir} at the lab")
        attach_site(wanted.site_dir.resolve(), site_hosts(started, list(wanted.on)), lab)
    return started


def site_hosts(started: list[LabHost], names: list[str]) -> list[LabHost]:
    """The hosts a site goes on: ``names`` in their order (the first runs every component,
    the second keeps its backups), or every host started when none are named. Two sites
    in one lab each get hosts of their own this way (`wmx lab up --site DIR --on lab2`)."""
    if not names:
        return started
    by_name = {host.name: host for host in started}
    for name in names:
        if name not in by_name:
            raise InputError(
                f"--on {name}: not a host of this lab; it has {', '.join(by_name)} "
                "(a bigger --hosts adds hosts)"
            )
    if len(set(names)) != len(names):
        raise InputError(f"--on names a host twice: {' '.join(names)}")
    return [by_name[name] for name in names]


def attach_site(site_dir: Path, hosts: list[LabHost], lab: Lab) -> None:
    paths = SitePaths(site_dir.resolve())
    config = load_config(paths)
    if paths.inventory.exists() and not paths.inventory.read_text().startswith(LAB_MARKER):
        # Keep the operator's own inventory: the lab must never lose it.
        shutil.copy2(paths.inventory, paths.inventory.with_name("inventory.yml.before-lab"))
    users = {
        h.name: user for h in hosts if (user := login_user(lab.paths.host_root(h.name))) is not None
    }
    inventory = lab_inventory_text(hosts, lab.ssh_key_path, lab.known_hosts_path, users)
    write_atomically(paths.inventory, inventory)
    if config.acme.directory != lab.acme_directory:
        set_value(paths, "acme.directory", lab.acme_directory, deployed=False)
    # The lab's one pebble stands in for the CA's staging directory too: the first order
    # is rehearsed there (a dry run), then placed for real.
    if config.acme.staging_directory != lab.acme_directory:
        set_value(paths, "acme.staging_directory", lab.acme_directory, deployed=False)
    # The IRC bridge talks to the lab's IRC server (ngircd, standing in for Libera.Chat)
    # over TLS with the lab CA; it has no services, hence no SASL.
    lab_network = [{"name": LAB_IRC_NETWORK, "servers": [LAB_IRC_SERVER], "sasl": False}]
    if config.irc_bridge.model_dump(mode="json")["networks"] != lab_network:
        set_value(
            paths,
            "irc_bridge.networks",
            f"[{{name: {LAB_IRC_NETWORK}, servers: ['{LAB_IRC_SERVER}'], sasl: false}}]",
            deployed=False,
        )
    # Lab homeservers federate with each other over the lab's private network, which
    # Synapse refuses by default (ip_range_blacklist): allow that network, and only it.
    lab_ranges = [str(SUBNET)]
    if config.synapse.federation_allow_ranges != lab_ranges:
        set_value(paths, "synapse.federation_allow_ranges", f"['{SUBNET}']", deployed=False)
    # Web client releases come from GitHub, out of the lab's reach. Unless the site names
    # an archive itself: Cinny installs the shared release archive, checked against its
    # SHA256SUMS and pinned by that checksum (wmx/lab/cinny.py); Element the lab's
    # stand-in release archive (wmx/lab/element.py), a placeholder page.
    if config.web_client.archive is None:
        if config.web_client.kind == "cinny":
            cinny = cinny_archive()
            set_value(paths, "web_client.archive", str(cinny.path), deployed=False)
            set_value(paths, "web_client.sha256", cinny.sha256, deployed=False)
        else:
            archive = write_standin_archive(lab.paths.cache_dir / "element")
            set_value(paths, "web_client.archive", str(archive), deployed=False)
    # A site that logs in with a Wikimedia account logs in with the lab's Meta stand-in.
    attach_login(paths, config, lab)
    first = hosts[0].name
    lab.set_names(
        {
            name: first
            for name in (config.server_name, config.homeserver.host, config.web_client.host)
        }
    )
