#!/usr/bin/python
"""Bring one role's systemd units to their state in one module run (wmx's own module, the
shared role ``units``): was one ``ansible.builtin.systemd_service`` run per unit and per
action (daemon-reload, enable, restart, start), plus one ``wait_for`` run per port.

In order: ``daemon_reload`` reloads systemd's units; the units of ``reset_failed`` lose
their failure record (systemd's start limit would refuse a restart of a unit that failed
on its package's defaults); each of ``units`` that does not start at boot is enabled
(``systemctl is-enabled`` exit status 0, as ansible.builtin.systemd_service reads it);
then every unit not running (active or activating) is started, and those of ``restart``
and ``reload`` that run are restarted or reloaded, each action in one ``systemctl`` call
for all its units, so that systemd runs their jobs side by side. Finally each ``wait``
entry's TCP port must accept a connection within ``timeout`` seconds of the start. A
systemctl call that fails stops the run with systemd's message, naming the units that
failed. Check mode reports what would change (and waits for nothing) and changes nothing.
"""

from __future__ import annotations

import socket
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wmx_units
short_description: Enable, start, restart and wait for the systemd units of one wmx role in one run
options:
  units:
    description: The units that must be enabled and running afterwards.
    type: list
    elements: str
    required: true
  restart:
    description: Units to restart (started instead when not running).
    type: list
    elements: str
    default: []
  reload:
    description: Units to reload (started instead when not running).
    type: list
    elements: str
    default: []
  daemon_reload:
    description: Reload systemd's units first.
    type: bool
    default: false
  reset_failed:
    description: Units whose failure record goes before they (re)start.
    type: list
    elements: str
    default: []
  wait:
    description: TCP endpoints (host:port, or a port of 127.0.0.1) that must listen afterwards.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for all of them.
    type: int
    default: 60
author: wmx
"""

RUNNING = ("active", "activating", "reloading")


def _systemctl(module: AnsibleModule, *args: str, check: bool = True) -> str:
    rc, out, err = module.run_command(["systemctl", *args])
    if rc != 0 and check:
        module.fail_json(msg=f"systemctl {' '.join(args)} failed: {(err or out).strip()}")
    return str(out)


def _active_states(module: AnsibleModule, names: list[str]) -> dict[str, str]:
    """Each unit's ActiveState, from one ``systemctl show``; a unit systemd does not know
    fails the run, naming it."""
    out = _systemctl(module, "show", "--property=Id,LoadState,ActiveState", "--", *names)
    blocks = out.strip().split("\n\n")
    if len(blocks) != len(names):
        module.fail_json(msg=f"systemctl show gave {len(blocks)} units for {len(names)}: {out}")
    states: dict[str, str] = {}
    for name, block in zip(names, blocks, strict=True):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("LoadState") == "not-found":
            module.fail_json(msg=f"systemd has no unit {name} (its package installs it)")
        states[name] = fields.get("ActiveState", "")
    return states


def _is_enabled(module: AnsibleModule, name: str) -> bool:
    rc, out, _ = module.run_command(["systemctl", "is-enabled", name])
    return rc == 0 and out.strip() not in ("indirect", "alias")


def _failure(module: AnsibleModule, action: str, names: list[str], err: str) -> None:
    states = _active_states(module, names)
    failed = [name for name in names if states.get(name) == "failed"]
    module.fail_json(
        msg=f"systemctl {action} {' '.join(names)} failed: {err.strip()}"
        + (f" (failed: {', '.join(failed)}; see journalctl -u {failed[0]})" if failed else ""),
        failed_units=failed,
    )


def _endpoint(module: AnsibleModule, text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) or a port of 127.0.0.1."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        module.fail_json(msg=f"wait: {text!r} is not host:port")
    return host.strip("[]") or "127.0.0.1", int(port)


def _wait(module: AnsibleModule, endpoints: list[str], deadline: float) -> None:
    for host, port in (_endpoint(module, text) for text in endpoints):
        while True:
            try:
                with socket.create_connection((host, port), timeout=1):
                    break
            except OSError as error:
                if time.monotonic() > deadline:
                    module.fail_json(msg=f"nothing listens on {host}:{port} ({error.strerror})")
                time.sleep(0.1)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "units": {"type": "list", "elements": "str", "required": True},
            "restart": {"type": "list", "elements": "str", "default": []},
            "reload": {"type": "list", "elements": "str", "default": []},
            "daemon_reload": {"type": "bool", "default": False},
            "reset_failed": {"type": "list", "elements": "str", "default": []},
            "wait": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    params = module.params
    names: list[str] = list(
        dict.fromkeys([*params["units"], *params["restart"], *params["reload"]])
    )
    if not names or not all(name and not name.startswith("-") for name in names):
        module.fail_json(msg=f"units {names!r}: each must be a unit's name")
    check = module.check_mode
    if params["daemon_reload"] and not check:
        _systemctl(module, "daemon-reload")
    if params["reset_failed"] and not check:
        _systemctl(module, "reset-failed", "--", *params["reset_failed"], check=False)

    changed: list[str] = []
    states = _active_states(module, names)
    enable = [name for name in params["units"] if not _is_enabled(module, name)]
    if enable:
        changed.extend(f"{name} (enable)" for name in enable)
        if not check:
            _systemctl(module, "enable", "--", *enable)

    actions: dict[str, list[str]] = {"start": [], "restart": [], "reload": []}
    for name in names:
        if states[name] not in RUNNING:
            actions["start"].append(name)
        elif name in params["restart"]:
            actions["restart"].append(name)
        elif name in params["reload"]:
            actions["reload"].append(name)
    started = time.monotonic()
    for action, targets in actions.items():
        if not targets:
            continue
        changed.extend(f"{name} ({action})" for name in targets)
        if not check:
            rc, out, err = module.run_command(["systemctl", action, "--", *targets])
            if rc != 0:
                _failure(module, action, targets, err or out)
    if not check:
        _wait(module, params["wait"], started + params["timeout"])
    module.exit_json(changed=bool(changed), changed_units=changed)


if __name__ == "__main__":
    main()
