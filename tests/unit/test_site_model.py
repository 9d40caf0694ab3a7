"""Loading and validating a site: good input loads, each kind of bad input says where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.components import components_of
from wmx.components.postgresql import PostgresTuning
from wmx.errors import InputError
from wmx.site import load_site


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_fresh_site_loads_with_defaults(site_dir: Path) -> None:
    site = load_site(site_dir)
    assert site.config.server_name == "example.test"
    assert site.config.synapse.registration == "closed"
    assert site.config.synapse.url_previews.enabled is False
    assert site.config.acme.directory.startswith("https://acme-v02.api.letsencrypt.org/")
    (host,) = site.topology.hosts
    core = ("base", "postgresql", "synapse", "nginx")
    components = components_of(site, host)
    assert tuple(c for c in components if c in core) == core
    assert {"exporters", "monitoring"} <= set(components)  # on by default
    assert site.config.federation_endpoint == "matrix.example.test:443"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "max_upload_size_mb: 50",
            "max_upload_size_mb: lots",
            "wmx.yaml:{line}: synapse.max_upload_size_mb:",
        ),
        ("max_upload_size_mb: 50", "max_upload_size_mb: 0", "greater than or equal to 1"),
        ("log_level: INFO", "log_level: LOUD", "synapse.log_level: must be one of 'DEBUG'"),
        ("presence: true", "presense: true", "synapse.presense: unknown key"),
        (
            "server_name: example.test",
            "server_name: https://example.test",
            "is not a DNS host name",
        ),
        ("host: element.example.test", "host: matrix.example.test", "web_client.host must differ"),
        (
            "email: acme@example.test",
            "email: nobody",
            "acme.email: 'nobody' is not an e-mail address",
        ),
        ("federation_port: 443", "federation_port: 8080", "must be one of 443 or 8448 (got 8080)"),
        ("schema_version: 2", "schema_version: 99", "newer than this wmx understands"),
        ("  version: 1.163.2", "  version: latest", "is not a Synapse release number"),
    ],
)
def test_bad_values_are_reported_with_file_line_and_key(
    site_dir: Path, old: str, new: str, expected: str
) -> None:
    lines = (site_dir / "wmx.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if old in text)
    _replace(site_dir / "wmx.yaml", old, new)
    with pytest.raises(InputError) as info:
        load_site(site_dir)
    assert expected.format(line=line) in str(info.value)
    assert str(site_dir / "wmx.yaml") in str(info.value)


def test_missing_required_key_is_named(site_dir: Path) -> None:
    _replace(site_dir / "wmx.yaml", "server_name: example.test\n", "")
    with pytest.raises(InputError, match=r"server_name: required, but not set"):
        load_site(site_dir)


def test_broken_yaml_names_the_line(site_dir: Path) -> None:
    _replace(site_dir / "wmx.yaml", "  presence: true", "  presence: [true")
    with pytest.raises(InputError, match=r"wmx.yaml:\d+: broken YAML"):
        load_site(site_dir)


def test_inventory_needs_one_host_per_component_group(site_dir: Path) -> None:
    _replace(site_dir / "inventory.yml", "    proxy:\n      hosts:\n        matrix:\n", "")
    with pytest.raises(InputError, match="group 'proxy' must hold exactly one host"):
        load_site(site_dir)


def test_secrets_file_must_be_private(site_dir: Path) -> None:
    (site_dir / "secrets.yml").chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        _ = load_site(site_dir).secrets


def test_secrets_are_distinct_strong_and_hidden(site_dir: Path) -> None:
    secrets = load_site(site_dir).secrets
    values = secrets.values()
    assert len(set(values)) == len(values)
    assert all(len(v) >= 40 for v in values)
    assert values[0] not in repr(secrets) and values[0] not in str(secrets)
    assert (site_dir / "secrets.yml").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("memory", [1024, 2048, 16384])
def test_postgres_tuning_follows_memory(memory: int) -> None:
    tuning = PostgresTuning.for_memory(memory, 100)
    assert tuning.shared_buffers_mb == memory // 4
    assert tuning.effective_cache_size_mb == memory * 3 // 4
    # Every connection sorting at once must still fit in memory.
    assert tuning.work_mem_mb * tuning.max_connections <= memory
