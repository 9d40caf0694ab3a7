"""`wmx dns` (the records a site needs, what resolves) and the first deploy's preflight
(names resolve to the proxy, ports 80 and 443 reach it), issue 19."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.render_sites import BASE_CONFIG, make_site
from wmx.cli import app
from wmx.errors import InputError
from wmx.ops.dns import Record, ca_issuer, check_records, host_addresses, needed_records
from wmx.ops.preflight import PreflightError, check_proxy, preflight, probe_port
from wmx.site import Site
from wmx.site.inventory import load_topology
from wmx.site.topology import HostView

ALL = ("database", "homeserver", "proxy", "element", "turn")


def site_with(tmp_path: Path, host: HostView, **config: object) -> Site:
    return make_site(tmp_path, {**BASE_CONFIG, **config}, [host])


def test_records_cover_every_public_name_with_both_address_families(tmp_path: Path) -> None:
    host = HostView("hs1", "10.0.0.5", ALL, vars={"public_ipv6": "2001:db8::5"})
    site = site_with(tmp_path, host, turn={"host": "turn.example.test"})
    records = needed_records(site)
    lines = [r.zone_line() for r in records]
    for name in ("example.test", "matrix.example.test", "element.example-web.test",
                 "turn.example.test"):  # fmt: skip
        assert f"{name}. 3600 IN A 10.0.0.5" in lines
        assert f"{name}. 3600 IN AAAA 2001:db8::5" in lines
    # No SRV record: a server falling back to one would send the server name as Host to
    # the proxy, whose block for that name serves .well-known only.
    assert not [r for r in records if r.type == "SRV"]
    # The lab's pebble is no known CA: no CAA suggestion rather than a wrong one.
    assert not [r for r in records if r.type == "CAA"]


def test_caa_names_the_ca_of_the_acme_directory(tmp_path: Path) -> None:
    host = HostView("hs1", "10.0.0.5", ALL)
    acme = {"email": "a@example.test"}  # Let's Encrypt by default
    caa = [r for r in needed_records(site_with(tmp_path, host, acme=acme)) if r.type == "CAA"]
    # matrix.example.test is below the server name; the web client's name is not.
    assert [r.zone_line() for r in caa] == [
        'example.test. 3600 IN CAA 0 issue "letsencrypt.org"  ; optional',
        'element.example-web.test. 3600 IN CAA 0 issue "letsencrypt.org"  ; optional',
    ]
    assert ca_issuer("https://acme-staging-v02.api.letsencrypt.org/directory") == "letsencrypt.org"
    assert ca_issuer("https://acme.lab.test:14000/dir") is None


def test_turn_without_tls_points_at_the_turn_host_not_the_proxy(tmp_path: Path) -> None:
    proxy = HostView("web", "10.0.0.5", ("database", "homeserver", "proxy"))
    turn = HostView("turn1", "10.0.0.9", ("turn",))
    config = {**BASE_CONFIG, "turn": {"host": "turn.example.test", "tls": False}}
    site = make_site(tmp_path, config, [proxy, turn])
    found = {(r.name, r.value) for r in needed_records(site) if r.type == "A"}
    assert ("turn.example.test", "10.0.0.9") in found
    assert ("turn.example.test", "10.0.0.5") not in found


def test_public_addresses_are_checked_when_the_inventory_loads(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    hs1:\n      ansible_host: 10.0.0.5\n"
        "      public_ipv6: 203.0.113.7\n"
        "  children:\n    database: {hosts: {hs1: }}\n    homeserver: {hosts: {hs1: }}\n"
        "    proxy: {hosts: {hs1: }}\n"
    )
    with pytest.raises(InputError, match=r"hs1\.public_ipv6: '203\.0\.113\.7' is not an IPv6"):
        load_topology(inventory)
    inventory.write_text(inventory.read_text().replace("203.0.113.7", "[2001:db8::7]"))
    host = load_topology(inventory).hosts[0]
    assert host_addresses(host) == (["10.0.0.5"], ["2001:db8::7"])


def test_addresses_are_normalised_once_where_the_inventory_loads(tmp_path: Path) -> None:
    """An address as written ("2001:DB8:0::11") never reaches configs, the database's
    certificate or `wmx dns --check` (which compares strings with what resolvers print)."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        'all:\n  hosts:\n    hs1:\n      ansible_host: "2001:DB8:0::11"\n'
        '      public_ipv6: "2001:DB8::7"\n'
        "  children:\n    database: {hosts: {hs1: }}\n    homeserver: {hosts: {hs1: }}\n"
        "    proxy: {hosts: {hs1: }}\n"
    )
    host = load_topology(inventory).hosts[0]
    assert host.address == "2001:db8::11"
    assert host_addresses(host) == ([], ["2001:db8::7"])


def test_check_compares_what_resolves_with_the_inventory() -> None:
    records = [
        Record("localhost", "A", "127.0.0.1", "here"),
        Record("localhost", "A", "192.0.2.1", "elsewhere"),
        Record("name-that-does-not-exist.invalid", "A", "192.0.2.1", "missing"),
    ]
    here, elsewhere, missing = check_records(records)
    assert here.ok and "127.0.0.1" in here.found
    assert not elsewhere.ok and "points at 127.0.0.1" in elsewhere.detail
    assert not missing.ok and missing.detail.startswith("no A record")


def test_probe_tells_a_reachable_port_from_a_dropped_one() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert probe_port("127.0.0.1", port, 2) is None
    # Nothing listens any more: refused, so the packet reached the machine.
    assert probe_port("127.0.0.1", port, 2) is None
    # A full accept queue: Linux drops further SYNs, as a firewall that drops would.
    with socket.socket() as full, socket.socket() as queued:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        queued.connect(full.getsockname())
        why = probe_port("127.0.0.1", full.getsockname()[1], 0.5)
    assert why == "gives no answer within 0.5 s (a firewall drops it?)"


def test_preflight_names_every_problem_before_any_order(tmp_path: Path) -> None:
    site = site_with(tmp_path, HostView("hs1", "10.0.0.5", ALL))
    dns = {"example.test": ["10.0.0.5"], "matrix.example.test": ["10.0.0.6"]}

    def blocked_443(address: str, port: int, timeout: float) -> str | None:
        return "gives no answer within 5 s (a firewall drops it?)" if port == 443 else None

    problems = check_proxy(site, site.topology.hosts[0], resolve=lambda n: dns.get(n, []),
                           probe=blocked_443)  # fmt: skip
    assert [str(p) for p in problems] == [
        "matrix.example.test resolves to 10.0.0.6, not to hs1 (10.0.0.5)",
        "element.example-web.test does not resolve",
        "port 443 of 10.0.0.5 gives no answer within 5 s (a firewall drops it?)",
    ]
    with pytest.raises(PreflightError, match=r"element\.example-web\.test does not resolve"):
        preflight(site, ["hs1"], resolve=lambda n: dns.get(n, []), probe=blocked_443)
    # An AAAA record the inventory does not know: the CA would validate over IPv6.
    v6 = {**dns, "matrix.example.test": ["10.0.0.5", "2001:db8::9"],
          "element.example-web.test": ["10.0.0.5"]}  # fmt: skip
    found = check_proxy(site, site.topology.hosts[0], resolve=lambda n: v6.get(n, []),
                        probe=lambda a, p, t: None)  # fmt: skip
    assert [str(p) for p in found] == [
        "matrix.example.test resolves to 2001:db8::9, not to hs1 (10.0.0.5) (if that is the "
        "host's own IPv6 address, give it as public_ipv6 in the inventory)"
    ]
    # Once the host has been deployed, its certificate exists: no preflight.
    (site.paths.deployed / "hs1").mkdir(parents=True)
    preflight(site, ["hs1"], resolve=lambda n: [], probe=blocked_443)


def test_dns_command_prints_the_table_the_zone_lines_and_json(site_dir: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["--site", str(site_dir), "dns"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "As zone-file lines:" in shown.output
    zone = runner.invoke(app, ["--site", str(site_dir), "dns", "-o", "zone"])
    assert zone.exit_code == 0
    assert all(" 3600 IN " in line for line in zone.stdout.splitlines()), zone.output
    assert zone.stdout.splitlines()[0].startswith("example.test. 3600 IN A ")
    checked = runner.invoke(app, ["--site", str(site_dir), "dns", "--check", "-o", "json"])
    # example.test's names resolve nowhere here: a mismatch, exit 1.
    assert checked.exit_code == 1, checked.output
    assert '"ok": false' in checked.output


def test_first_order_is_rehearsed_on_the_staging_directory_of_its_ca() -> None:
    from wmx.site.settings.nginx import LETS_ENCRYPT_STAGING, AcmeSettings

    assert AcmeSettings(email="a@example.org").rehearsal_directory == LETS_ENCRYPT_STAGING
    other = AcmeSettings(email="a@example.org", directory="https://ca.example.org/dir")
    assert other.rehearsal_directory == ""
    lab = "https://acme.lab.test:14000/dir"
    both = AcmeSettings(email="a@example.org", directory=lab, staging_directory=lab)
    assert both.rehearsal_directory == lab
    off = AcmeSettings(email="a@example.org", staging_directory="")
    assert off.rehearsal_directory == ""
    with pytest.raises(ValueError, match="is not an https:// URL"):
        AcmeSettings(email="a@example.org", staging_directory="http://ca.example.org/")
