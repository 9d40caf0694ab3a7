"""A rule across settings names the file, the line and the key to change, like any other
bad value (it said `wmx.yaml: (top level): …`, without a line, before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.errors import InputError
from wmx.site import load_site


def line_of(path: Path, text: str, after: str = "") -> int:
    """The 1-based setting line reading `text`, the first one below the line `after`."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    start = lines.index(after) if after else 0
    return next(n for n, line in enumerate(lines[start:], start + 1) if line == text)


def load_error(site_dir: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_site(site_dir)
    return str(caught.value)


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first setting line (not a comment) that reads `old`."""
    lines = path.read_text().splitlines(keepends=True)
    n = next(n for n, line in enumerate(lines) if line.strip() == old)
    lines[n] = lines[n].replace(old, new)
    path.write_text("".join(lines))


def test_a_web_client_on_the_homeserver_host_names_the_web_client_host_line(
    site_dir: Path,
) -> None:
    config = site_dir / "wmx.yaml"
    edit(config, "host: element.example.test", "host: matrix.example.test")
    line = line_of(config, "host: matrix.example.test", after="web_client:")
    error = load_error(site_dir)
    assert error == (
        f"{config}:{line}: web_client.host must differ from homeserver.host and server_name "
        "(Synapse advises serving the web client from another host name)"
    )
    assert "(top level)" not in error


def test_too_few_connections_for_the_workers_name_the_workers_line(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    edit(config, "preset: none", "preset: large")
    edit(config, "max_connections: 100", "max_connections: 50")
    error = load_error(site_dir)
    line = line_of(config, "workers:", after="synapse:")
    assert error.startswith(f"{config}:{line}: synapse.workers: ")
    assert "raise postgresql.max_connections (now 50)" in error


def test_sul_only_with_registration_open_names_the_sul_only_line(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    edit(config, "registration: closed", "registration: token")
    with config.open("a") as out:
        out.write(
            f"\nlogin:\n  provider: wikimedia\n  consumer_key: {'a' * 32}\n  sul_only: true\n"
        )
    error = load_error(site_dir)
    line = line_of(config, "sul_only: true")
    assert error.startswith(f"{config}:{line}: login.sul_only: people get their account")


def test_a_bridge_without_a_homeserver_names_the_networks_line(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    text = config.read_text()
    start = text.index("\nhomeserver:\n")
    end = text.index("\n\n", start + 1)
    config.write_text(text[:start] + text[end:])
    error = load_error(site_dir)
    line = line_of(config, "networks:", after="irc_bridge:")
    assert error.startswith(f"{config}:{line}: irc_bridge.networks needs a homeserver")


def test_a_rule_inside_a_section_names_the_key_not_the_section(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    edit(config, "relay_min_port: 49152", "relay_min_port: 60000")
    edit(config, "relay_max_port: 65535", "relay_max_port: 50000")
    error = load_error(site_dir)
    line = line_of(config, "relay_min_port: 60000")
    assert error == (
        f"{config}:{line}: turn.relay_min_port (60000) is above turn.relay_max_port (50000)"
    )


def test_alert_mail_without_a_relay_names_the_alert_emails_line(site_dir: Path) -> None:
    config = site_dir / "wmx.yaml"
    edit(config, "alert_emails: []", "alert_emails: [ops@example.test]")
    error = load_error(site_dir)
    line = line_of(config, "alert_emails: [ops@example.test]")
    assert error.startswith(f"{config}:{line}: monitoring.alert_emails needs monitoring.smtp")


def test_a_become_method_other_than_sudo_is_refused_at_load_with_its_line(
    site_dir: Path,
) -> None:
    """wmx's own SSH commands become root with sudo only: refused when the site loads,
    not when `wmx status` first needs root on the host."""
    inventory = site_dir / "inventory.yml"
    edit(inventory, "memory_mb: 2048", "memory_mb: 2048\n      ansible_become_method: su")
    line = line_of(inventory, "ansible_become_method: su")
    error = load_error(site_dir)
    assert error.startswith(f"{inventory}:{line}: matrix.ansible_become_method: 'su' is not")
    assert "sudo only" in error
    edit(inventory, "ansible_become_method: su", "ansible_become_method: sudo")
    assert load_site(site_dir).topology.hosts[0].vars["ansible_become_method"] == "sudo"
