"""`wmx upgrade … --component irc-bridge | web-client`: the same way for the other parts.

The IRC bridge (Heisenbridge) runs one venv per release under /opt/heisenbridge/venvs and
its unit runs the `current` link (the irc_bridge role): install the release beside the
running one, stop, switch the link, start, then the gate — the unit is active and Synapse's
ping of the bridge is answered — within its time limit; a failed gate switches the link
back by itself. Heisenbridge keeps its state in Synapse, so nothing else goes back.

The web client (Element Web or Cinny) is a directory per release under /opt/element with a
`current` link nginx serves and a `previous` one (the element role): wmx.yaml's
`web_client.version` (and `sha256` for a release wmx does not pin) is set, the element role
unpacks the release beside the running one and switches the link (no outage: nginx serves
either release whole), then the gate — nginx serves the new release's index.html and
config.json on the proxy host — and a failed gate points `current` back at `previous` and
restores wmx.yaml. Its rollback on purpose does the same.

Runs are recorded as Synapse's are (wmx.ops.upgrade.UpgradeRecord, component named).
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from wmx.components.element import ELEMENT_CURRENT_LINK, ELEMENT_PREVIOUS_LINK
from wmx.components.irc_bridge import HEISENBRIDGE_CURRENT_LINK, HEISENBRIDGE_VENVS_DIR
from wmx.errors import InputError, WmxError
from wmx.ops.upgrade import UpgradeFailed, _now, refuse_failed
from wmx.ops.upgrade_host import remote
from wmx.ops.upgrade_plan import Check, python_check
from wmx.ops.upgrade_record import UpgradeRecord, last_of
from wmx.ops.upgrade_release import PyPI, sort_key
from wmx.site import Site, load_site
from wmx.site.config_edit import set_value
from wmx.site.element_release import WebClientRelease, element_release
from wmx.site.given import given
from wmx.site.releases import DEFAULT_HEISENBRIDGE_VERSION, DEFAULT_RELEASES
from wmx.site.topology import HostView
from wmx.site.yamlfile import write_atomically

Say = Callable[[str], None]
BRIDGE_UNIT = "heisenbridge.service"
COMPONENTS = ("synapse", "irc-bridge", "web-client")
BRIDGE_GATE_TIMEOUT = 90.0
CLIENT_GATE_TIMEOUT = 30.0


@dataclass
class PartPlan:
    component: str  # "irc-bridge" or "web-client"
    host: str
    # None: not known (no release in wmx.yaml; the host or index unread). null in JSON.
    configured: str | None  # what wmx.yaml says
    running: str | None  # what the host's current link points at
    target: str | None
    latest: str | None = None  # newest on PyPI (the bridge)
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        nothing_to_do = any(c.what == "target" for c in self.checks)
        return {**asdict(self), "ok": self.ok, "nothing_to_do": nothing_to_do}


def _link_target(host: HostView, link: str) -> str | None:
    text = remote(host, f"readlink {link} || true", timeout=60).strip()
    return text.rsplit("/", 1)[-1] if text else None


# --- the IRC bridge ----------------------------------------------------------------


def bridge_host(site: Site) -> HostView:
    host = site.topology.first_in("irc_bridge")
    if host is None:
        raise InputError("this site has no IRC bridge (inventory group irc_bridge is empty)")
    return host


BRIDGE_FACTS = (
    "python3 -c 'import platform; print(platform.python_version())'; "
    f"readlink {HEISENBRIDGE_CURRENT_LINK} || echo; "
    f"grep -c '^ExecStart={HEISENBRIDGE_CURRENT_LINK}/' /etc/systemd/system/{BRIDGE_UNIT} "
    "|| true"
)


def plan_bridge(site: Site, pypi: PyPI, to: str | None) -> PartPlan:
    host = bridge_host(site)
    target = to or DEFAULT_HEISENBRIDGE_VERSION
    latest = pypi.latest()
    if target not in pypi.releases():
        raise InputError(f"--to {given(target)}: no such Heisenbridge release (newest: {latest})")
    lines = [*remote(host, BRIDGE_FACTS, timeout=60).splitlines(), "", "", ""]
    link = lines[1].strip()
    running = link.rsplit("/", 1)[-1] if link.startswith(HEISENBRIDGE_VENVS_DIR + "/") else None
    plan = PartPlan(
        "irc-bridge", host.name, site.config.irc_bridge.version, running, target, latest
    )
    plan.checks.append(python_check(host.name, pypi.requires_python(target), lines[0] or None))
    runs_link = lines[2].strip() not in ("", "0")
    plan.checks.append(
        Check(
            host.name,
            "link",
            running is not None and runs_link,
            "the unit runs the current link"
            if running is not None and runs_link
            else "the bridge was deployed by an older wmx (its unit runs a venv, not the "
            "current link): `wmx deploy` once, then upgrade",
        )
    )
    if running is not None and running == target:
        plan.checks.append(Check(host.name, "target", False, f"Heisenbridge {target} runs"))
    if sort_key(latest) > sort_key(target):
        plan.warnings.append(f"PyPI has a newer release: {latest} (this plan goes to {target})")
    return plan


def bridge_install_script(version: str) -> str:
    venv = f"{HEISENBRIDGE_VENVS_DIR}/{version}"
    return (
        f"set -e; test -x {venv}/bin/python || /usr/bin/python3 -m venv {venv}; "
        f"{venv}/bin/pip install --disable-pip-version-check -q heisenbridge=={version}"
    )


def bridge_switch_script(version: str) -> str:
    venv = f"{HEISENBRIDGE_VENVS_DIR}/{version}"
    link = HEISENBRIDGE_CURRENT_LINK
    return (
        f"set -e; test -x {venv}/bin/heisenbridge; systemctl stop {BRIDGE_UNIT}; "
        f"ln -sfn {venv} {link}.wmx-new; mv -T {link}.wmx-new {link}; "
        f"systemctl start {BRIDGE_UNIT}"
    )


def bridge_gate(site: Site, timeout: float) -> tuple[bool, str]:
    """The unit stays active and Synapse's ping of the bridge is answered."""
    from wmx.admin.account import reach_synapse
    from wmx.components.irc_bridge import APPSERVICE_ID
    from wmx.irc.health import ping

    host = bridge_host(site)
    with reach_synapse(site) as base_url:
        return poll_bridge(
            lambda: remote(host, f"systemctl is-active {BRIDGE_UNIT} || true", 60).strip(),
            lambda: ping(base_url, site.secrets.irc_bridge_as_token, APPSERVICE_ID),
            timeout,
        )


def poll_bridge(
    unit_state: Callable[[], str],
    ping: Callable[[], tuple[bool, str]],
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, str]:
    """(passed, detail): polled until the unit is active and the ping answered, or the
    time limit (a bridge takes seconds to connect after its start)."""
    deadline = time.monotonic() + timeout
    while True:
        state = unit_state()
        if state == "active":
            up, detail = ping()
            if up:
                return True, f"the bridge answers Synapse's ping ({detail})"
            detail = f"Synapse's ping of the bridge: {detail}"
        else:
            detail = f"{BRIDGE_UNIT} is {state or 'unknown'}"
        if time.monotonic() >= deadline:
            return False, f"irc_bridge: {detail}"
        sleep(2)


def apply_bridge(site: Site, plan: PartPlan, say: Say, *, gate_timeout: float) -> UpgradeRecord:
    refuse_failed(plan.checks)  # a plan naming no target or no running release fails one
    host = bridge_host(site)
    old, target = plan.running, plan.target
    assert old is not None and target is not None
    record = UpgradeRecord("apply", "irc-bridge", old, target, _now(), "keeps")
    say(f"installing Heisenbridge {target} beside {old} (the bridge keeps running)")
    remote(host, bridge_install_script(target), timeout=1800)
    say(f"switching to Heisenbridge {target} and running the gate")
    return _bridge_switch(site, record, old, target, gate_timeout, say)


def _bridge_switch(
    site: Site, record: UpgradeRecord, old: str, new: str, timeout: float, say: Say
) -> UpgradeRecord:
    host = bridge_host(site)
    started = time.monotonic()
    try:
        remote(host, bridge_switch_script(new), timeout=180)
        ok, detail = bridge_gate(site, timeout)
    except WmxError as exc:
        ok, detail = False, f"switch: {exc}"
    record.outage_s = round(time.monotonic() - started, 1)
    record.detail = detail
    if ok:
        set_value(site.paths, "irc_bridge.version", new, deployed=True)
        record.status, record.finished = (
            "applied" if record.kind == "apply" else "rolled-back-by-hand",
            _now(),
        )
        record.save(site)
        return record
    record.failed = ["irc_bridge"]
    say(f"the gate failed ({detail}): switching back to Heisenbridge {old}")
    try:
        remote(host, bridge_switch_script(old), timeout=180)
        back, back_detail = bridge_gate(site, BRIDGE_GATE_TIMEOUT)
    except WmxError as exc:
        back, back_detail = False, str(exc)
    record.status, record.finished = ("rolled-back" if back else "failed"), _now()
    record.save(site)
    where = f"back on {old}" if back else f"and {old} fails too: {back_detail}"
    raise UpgradeFailed(f"Heisenbridge {new} failed the gate ({detail}); {where}")


# --- the web client ----------------------------------------------------------------


def client_host(site: Site) -> HostView:
    host = site.topology.first_in("element")
    if host is None or site.element_release is None:
        raise InputError("this site serves no web client (inventory group element is empty)")
    return host


def archive_release(site: Site, archive: str) -> WebClientRelease:
    """The release a local archive holds (client, version, checksum), checked as wmx.yaml's
    `web_client.archive` is: another client than `web_client.kind` is refused."""
    settings = site.config.web_client.model_copy(
        update={"archive": archive, "version": None, "sha256": None}
    )
    config = site.config.model_copy(update={"web_client": settings})
    return element_release(config, site.paths.root)


def plan_client(
    site: Site, to: str | None, sha256: str | None, archive: str | None = None
) -> PartPlan:
    host = client_host(site)
    release = site.element_release
    assert release is not None
    running = _link_target(host, ELEMENT_CURRENT_LINK)
    new = archive_release(site, archive) if archive else None
    if new is not None:
        if to is not None and to != new.version:
            raise InputError(f"--to {given(to)}, but --archive {archive} holds {new.version}")
        if sha256 is not None and sha256 != new.sha256:
            raise InputError(f"--archive {archive}: its SHA-256 is {new.sha256}, not --sha256's")
    target = new.version if new else (to or release.version)
    plan = PartPlan("web-client", host.name, release.version, running, target)
    pinned = DEFAULT_RELEASES[release.kind]
    if (
        new is None
        and to is not None
        and to != release.version
        and sha256 is None
        and not (to == pinned[0] and pinned[1])
    ):
        plan.checks.append(
            Check(
                host.name,
                "sha256",
                False,
                f"--to {to} needs --sha256 (the archive's checksum) or --archive",
            )
        )
    wanted = new.name if new else (release.name if to is None else None)
    if running is not None and running == wanted:
        plan.checks.append(Check(host.name, "target", False, f"{running} is served"))
    if running is None:
        plan.warnings.append("no web client release is served yet: `wmx deploy` installs one")
    return plan


# argv: the web client's name, the current release's index.html, nginx's TLS port.
CLIENT_CHECK = r"""python3 - "$1" "$2" "$3" <<'EOF'
import socket, ssl, sys
name, index, port = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
crlf = b"\r\n"
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # loopback: any cert
for path in ("/", "/config.json"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(b"GET " + path.encode() + b" HTTP/1.0" + crlf + b"Host: "
                        + name.encode() + crlf + crlf)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(crlf + crlf)
    status = head.split(crlf)[0]
    if b" 200 " not in status + b" ":
        sys.exit(path + ": " + status.decode(errors="replace"))
    if path == "/" and body != index:
        sys.exit("/ is not the current release's index.html")
print("ok")
EOF"""


def client_check_script(name: str, index: str, port: int = 443) -> str:
    return f"set -- {shlex.quote(name)} {shlex.quote(index)} {port}; {CLIENT_CHECK}"


def client_gate(site: Site, timeout: float) -> tuple[bool, str]:
    """nginx on the proxy host serves the current release's index.html (byte for byte)
    and config.json, asked over TLS on loopback with the web client's name."""
    host = client_host(site)
    script = client_check_script(site.config.web_client.host, f"{ELEMENT_CURRENT_LINK}/index.html")
    deadline = time.monotonic() + timeout
    detail = "not checked"
    while True:
        try:
            if remote(host, script, 60).strip().endswith("ok"):
                return True, "nginx serves the release's index.html and config.json"
        except WmxError as exc:
            detail = str(exc)
        if time.monotonic() >= deadline:
            return False, f"web_client: {detail}"
        time.sleep(2)


def client_switch_back_script(
    current: str = ELEMENT_CURRENT_LINK, previous: str = ELEMENT_PREVIOUS_LINK
) -> str:
    """Serve the previous release again, and keep the one it replaces as the previous one
    (each link replaced with rename(2): nginx serves one release whole or the other)."""
    return (
        f'set -e; old=$(readlink {previous}); test -s "$old/index.html"; '
        f'now=$(readlink {current}); ln -sfn "$old" {current}.wmx-new; '
        f"mv -T {current}.wmx-new {current}; "
        f'ln -sfn "$now" {previous}.wmx-new; mv -T {previous}.wmx-new {previous}'
    )


def client_settings(
    site: Site, target: str, sha256: str | None, archive: str | None
) -> dict[str, str | None]:
    """wmx.yaml's `web_client` release keys for the target, set in one edit (a release
    wmx does not pin is valid only with its checksum): a local archive pinned by its
    version and checksum, or a release downloaded from its project."""
    if archive:
        release = archive_release(site, archive)
        return {"archive": archive, "version": release.version, "sha256": release.sha256}
    return {"archive": None, "version": target, "sha256": sha256}


def apply_client(
    site: Site,
    plan: PartPlan,
    sha256: str | None,
    say: Say,
    *,
    console: Console,
    gate_timeout: float,
    archive: str | None = None,
) -> UpgradeRecord:
    from wmx.ops.deploy import deploy_site

    refuse_failed(plan.checks)  # a plan naming no target fails a check
    target = plan.target
    assert target is not None
    before = site.paths.config.read_text()
    # No release served before (a site that never deployed one): from_version is null.
    record = UpgradeRecord("apply", "web-client", plan.running, target, _now(), "keeps")
    settings = site.config.web_client
    record.settings_before = {
        "archive": settings.archive,
        "version": settings.version,
        "sha256": settings.sha256,
    }
    if target != plan.configured or sha256 or archive:
        wanted = client_settings(site, target, sha256, archive)
        set_value(site.paths, "web_client", json.dumps(wanted), deployed=True)
    try:
        site = load_site(site.paths.root)
        release = site.element_release
        assert release is not None
        record.to_version = release.name
        say(f"unpacking {release.client_name} {release.version} beside the served release")
        # nginx too: its CSP allows the release's own inline scripts (Cinny's hashes).
        host = client_host(site).name
        if not deploy_site(site, limit=host, only=["element", "nginx"], console=console).ok:
            raise WmxError("the element role failed (the served release is unchanged)")
    except WmxError:
        _restore_config(site.paths.config, before)
        raise
    ok, detail = client_gate(site, gate_timeout)
    record.detail = detail
    if ok:
        record.status, record.finished = "applied", _now()
        record.save(site)
        return record
    record.failed = ["web_client"]
    say(f"the gate failed ({detail}): serving the previous release again")
    remote(client_host(site), client_switch_back_script(), 60)
    _restore_config(site.paths.config, before)
    back, back_detail = client_gate(site, CLIENT_GATE_TIMEOUT)
    record.status, record.finished = ("rolled-back" if back else "failed"), _now()
    record.save(site)
    where = "the previous release is served" if back else f"and so does it: {back_detail}"
    raise UpgradeFailed(f"the web client {record.to_version} failed the gate ({detail}); {where}")


def _restore_config(path: Path, text: str) -> None:
    write_atomically(path, text)


def plan_part(
    site: Site,
    component: str,
    to: str | None,
    sha256: str | None,
    archive: str | None = None,
) -> PartPlan:
    if component == "irc-bridge":
        if sha256 is not None or archive is not None:
            raise InputError("--sha256 and --archive are for --component web-client")
        with PyPI(site.paths.state / "cache", project="heisenbridge") as pypi:
            return plan_bridge(site, pypi, to)
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256.strip().lower()):
        raise InputError("--sha256: not a SHA-256 (64 hexadecimal digits)")
    return plan_client(site, to, sha256 and sha256.strip().lower(), archive)


def apply_part(
    site: Site,
    plan: PartPlan,
    sha256: str | None,
    say: Say,
    *,
    console: Console,
    gate_timeout: float,
    archive: str | None = None,
) -> UpgradeRecord:
    if plan.component == "irc-bridge":
        return apply_bridge(site, plan, say, gate_timeout=gate_timeout)
    sha256 = sha256 and sha256.strip().lower()
    return apply_client(
        site, plan, sha256, say, console=console, gate_timeout=gate_timeout, archive=archive
    )


# --- rollback on purpose -----------------------------------------------------------


def plan_part_rollback(site: Site, component: str) -> dict[str, Any]:
    record = last_of(site, component)
    if record is None or record.get("kind") != "apply" or record.get("status") != "applied":
        raise InputError(f"no applied {component} upgrade to roll back (see .wmx/upgrades/)")
    if record.get("from_version") is None:
        raise InputError(f"the last {component} upgrade started from no release: none to go to")
    return record


def rollback_part(site: Site, component: str, applied: dict[str, Any], say: Say) -> UpgradeRecord:
    old, new = str(applied["from_version"]), str(applied["to_version"])
    record = UpgradeRecord("rollback", component, new, old, _now(), "keeps")
    if component == "irc-bridge":
        say(f"switching back to Heisenbridge {old}")
        return _bridge_switch(site, record, new, old, BRIDGE_GATE_TIMEOUT, say)
    say(f"serving the previous web client release ({old}) again")
    started = time.monotonic()
    remote(client_host(site), client_switch_back_script(), 60)
    ok, detail = client_gate(site, CLIENT_GATE_TIMEOUT)
    record.outage_s = round(time.monotonic() - started, 1)
    record.detail, record.finished = detail, _now()
    record.status = "rolled-back-by-hand" if ok else "failed"
    if ok:
        # wmx.yaml names the release served again, so the next deploy keeps it.
        before = applied.get("settings_before") or {}
        if before:
            set_value(site.paths, "web_client", json.dumps(before), deployed=True)
    record.save(site)
    if not ok:
        raise UpgradeFailed(f"the previous web client release fails the gate: {detail}")
    return record
