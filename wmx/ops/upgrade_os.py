"""`wmx upgrade os HOST`: one host of the site moved in place to the next Debian release
(12 → 13, wmx/debian.py's NEXT_RELEASE), the way Debian's release notes describe it.

plan: the release notes' checks on the host: a release wmx knows with a successor, free
space on / and /var, no held packages, no package half-installed (`dpkg --audit`), no
third-party apt sources. apply, each step named: a fresh backup (when backups are on) →
apt's sources switched to the new release's codename → `apt-get upgrade
--without-new-pkgs`, then `full-upgrade`, non-interactive (configuration files kept
as they are: wmx rewrites its own on the next converge) → a reboot, and the host checked
to run the new release → on the database host, the cluster moved by `wmx upgrade
postgresql`'s steps (wmx.ops.upgrade_postgresql; Synapse cannot run yet) → the site
converged again (`wmx deploy --full`: the venvs made by the old Python are rebuilt for
the new one, the shared role release_venvs, and Synapse starts on the new cluster) →
the health gate of `wmx upgrade` (Synapse answers, its version, the canary's round trip)
and the signing keys Synapse publishes, the same as before. A failed step stops the run:
the error names the step and what the host reports (its release, `dpkg --audit`, failed
units). The package upgrade runs detached from the SSH session (wmx.ops.upgrade_os_run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from wmx.backup.restore import published_keys
from wmx.debian import NEXT_RELEASE, RELEASES
from wmx.errors import InputError, WmxError
from wmx.ops.upgrade_host import remote
from wmx.ops.upgrade_os_run import reboot, run_detached
from wmx.ops.upgrade_plan import Check
from wmx.site import Site
from wmx.site.topology import HostView

Say = Callable[[str], None]
MIN_FREE_KB = 2 * 1024 * 1024  # per file system holding / and /var: 2 GiB
DEBIAN_HOSTS = ("deb.debian.org", "security.debian.org", "ftp.debian.org")
APT = (
    "DEBIAN_FRONTEND=noninteractive apt-get -y -q "
    "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)

PROBE = """\
. /etc/os-release; echo "codename=$VERSION_CODENAME"
df -Pk / /var | awk 'NR>1 {print "free=" $6 "=" $4}'
apt-mark showhold | sed 's/^/held=/'
dpkg --audit | head -5 | sed 's/^/audit=/'
cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
  2>/dev/null | grep -Eo '(https?|file|cdrom)://[^ ]+' | sed 's/^/source=/'
"""

STATE = """\
. /etc/os-release; echo "release: $PRETTY_NAME"
echo "dpkg --audit: $(dpkg --audit | head -3 | tr '\\n' ' ')"
echo "failed units: $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\\n' ' ')"
"""


@dataclass(frozen=True)
class OsPlan:
    host: str
    release: str
    target: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _values(text: str, key: str) -> list[str]:
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(f"{key}=")]


def _third_party(url: str) -> bool:
    host = url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    return not (host in DEBIAN_HOSTS or host.endswith(".debian.org"))


def parse_os_probe(host: str, text: str) -> OsPlan:
    codename = next(iter(_values(text, "codename")), "")
    target = NEXT_RELEASE.get(codename, "")
    checks = [
        Check(
            host,
            "release",
            bool(target),
            f"Debian {codename} → {target} ({RELEASES[target].version})"
            if target
            else f"Debian {codename or '(unknown)'}: wmx moves only "
            + ", ".join(f"{a} → {b}" for a, b in NEXT_RELEASE.items()),
        )
    ]
    for entry in dict.fromkeys(_values(text, "free")):
        mount, _, free = entry.partition("=")
        kb = int(free) if free.isdigit() else 0
        checks.append(
            Check(
                host, "space", kb >= MIN_FREE_KB, f"{kb // 1024} MiB free on {mount} (2048 needed)"
            )
        )
    held = _values(text, "held")
    checks.append(
        Check(
            host,
            "held",
            not held,
            f"held packages: {', '.join(held)}" if held else "no held packages",
        )
    )
    audit = _values(text, "audit")
    checks.append(
        Check(
            host,
            "dpkg",
            not audit,
            f"dpkg --audit: {audit[0]}" if audit else "no package half-installed (dpkg --audit)",
        )
    )
    foreign = sorted({u for u in _values(text, "source") if _third_party(u)})
    checks.append(
        Check(
            host,
            "sources",
            not foreign,
            f"third-party apt sources: {', '.join(foreign)} (remove or disable them first)"
            if foreign
            else "apt sources are Debian's only",
        )
    )
    return OsPlan(host, codename, target, tuple(checks))


def plan_os(site: Site, name: str) -> OsPlan:
    host = _host(site, name)
    return parse_os_probe(host.name, remote(host, PROBE, timeout=120))


def sources_script(old: str, new: str) -> str:
    """Every apt source file naming ``old`` (as a whole word: bookworm-updates and
    bookworm-security too) names ``new`` instead; a copy of each is kept beside it."""
    return (
        "set -eu\n"
        "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list "
        "/etc/apt/sources.list.d/*.sources; do\n"
        f'  [ -f "$f" ] && grep -qw {old} "$f" || continue\n'
        f'  cp -p "$f" "$f.wmx-{old}"\n'
        f'  sed -i "s/\\b{old}\\b/{new}/g" "$f"\n'
        "done\n"
    )


def upgrade_script() -> str:
    """apt's upgrade, as the release notes give it, without a question: configuration
    files kept (dpkg's and ucf's: wmx rewrites its own on the next converge), no change
    lists, no restart prompts. The installed PostgreSQL servers are marked as installed
    by hand first: the old release's server is what `wmx upgrade postgresql` moves the
    cluster from, and autoremove would take it otherwise."""
    return (
        "set -eu\n"
        "export UCF_FORCE_CONFFOLD=1 APT_LISTCHANGES_FRONTEND=none NEEDRESTART_MODE=a\n"
        "servers=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' 'postgresql-*' "
        "2>/dev/null | awk '$1 == \"ii\" && $2 ~ /^postgresql-[0-9]+$/ {print $2}')\n"
        'if [ -n "$servers" ]; then apt-mark manual $servers; fi\n'
        f"{APT} update\n"
        f"{APT} upgrade --without-new-pkgs\n"
        f"{APT} full-upgrade\n"
        f"{APT} autoremove --purge\n"
    )


def _host(site: Site, name: str) -> HostView:
    for host in site.topology.hosts:
        if host.name == name:
            return host
    known = ", ".join(h.name for h in site.topology.hosts)
    raise InputError(f"no host {name!r} in the inventory ({known})")


def apply_os(site: Site, plan: OsPlan, say: Say, console: Console) -> str:
    """Move ``plan.host`` to ``plan.target``; a failed step raises naming it."""
    failed = [c.detail for c in plan.checks if not c.ok]
    if failed:
        raise InputError(f"{plan.host}: " + "; ".join(failed))
    host = _host(site, plan.host)
    homeserver = site.topology.first_in("homeserver")
    step = "backup"
    try:
        keys = published_keys(homeserver) if homeserver is not None else None
        if site.config.backup.enabled:
            from wmx.backup.operations import data_host, run_backup
            from wmx.backup.progress import QuietSteps

            say("taking a fresh backup")
            label = f"before-debian-{plan.target}"
            outcome = run_backup(data_host(site), QuietSteps(), label=label)
            if not outcome.ok:
                raise WmxError(f"the fresh backup failed: {outcome.run.get('error')}")
        step = "sources"
        say(f"switching apt's sources from {plan.release} to {plan.target}")
        remote(host, sources_script(plan.release, plan.target), timeout=60)
        step = "full upgrade"
        say("upgrading every package (apt-get upgrade, then full-upgrade; minutes)")
        run_detached(host, upgrade_script(), say)
        step = "reboot"
        say(f"rebooting {host.name}")
        reboot(host, plan.target, say)
        if host in site.topology.in_group("database"):
            # Before the converge: Synapse cannot run until it rebuilds the venvs, and the
            # converge then starts it on the new cluster.
            step = "postgresql"
            from wmx.ops import upgrade_postgresql as pg

            pg_plan = pg.plan_postgresql(site)
            if pg_plan.needed:
                say(f"moving PostgreSQL {pg_plan.current.version} → {pg_plan.target}")
                say(pg.apply_postgresql(site, pg_plan, say, in_os_upgrade=True))
        step = "converge"
        say("converging the site again (venvs rebuilt for the new Python)")
        _converge(site, console)
        step = "health gate"
        say("running the health gate of `wmx upgrade`")
        _gate(site)
        if homeserver is not None and published_keys(homeserver) != keys:
            raise WmxError("Synapse publishes other signing keys than before the upgrade")
    except WmxError as exc:
        raise WmxError(
            f"`wmx upgrade os {plan.host}` stopped at step {step!r}: {exc}. "
            f"{plan.host} now: {_state(host)}"
        ) from None
    return (
        f"{plan.host}: Debian {plan.release} → {plan.target}; "
        "the site converged again and passed the gate, with the same signing keys"
    )


def _converge(site: Site, console: Console) -> None:
    from wmx.ops.deploy import deploy_site

    result = deploy_site(site, full=True, console=console)
    if not result.ok:
        failed = "; ".join(f"{f.host}: {f.task}" for f in result.failures[:3])
        raise WmxError(f"the deploy failed ({failed or result.status}; run log: {result.run_dir})")


def _gate(site: Site) -> None:
    from wmx.ops.upgrade import GATE_TIMEOUT, gate_after_start, ready_canary

    if site.topology.first_in("homeserver") is None:
        return
    verdict = gate_after_start(site, site.config.synapse.version, ready_canary(site), GATE_TIMEOUT)
    if not verdict.ok:
        raise WmxError(f"the gate failed: {verdict.summary()}")


def _state(host: HostView) -> str:
    try:
        return " ".join(remote(host, STATE, timeout=60).split())
    except WmxError as exc:
        return f"(cannot tell: {exc})"


__all__ = ["OsPlan", "apply_os", "parse_os_probe", "plan_os", "sources_script", "upgrade_script"]
