"""Issue 10: every setting is held to a strict type, a full-match grammar and a bound.

Each case sets one value with `wmx config set` (or writes the inventory) and expects
exit 2 with the file, line and key in the error and the file unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.site.grammars import (
    check_allow_ranges,
    check_email,
    check_hostname,
    check_url,
    check_user_masks,
)

runner = CliRunner()


def _set_refused(site: Path, key: str, value: str, *says: str) -> None:
    before = (site / "wmx.yaml").read_bytes()
    result = runner.invoke(app, ["--site", str(site), "config", "set", "--", key, value])
    assert result.exit_code == 2, (key, value, result.stdout)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert key in lines[0], lines[0]
    for part in says:
        assert part in lines[0], lines[0]
    assert (site / "wmx.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        # strict types: no bool for a number, no float for a whole number, no text for either
        ("synapse.max_upload_size_mb", "true", "valid integer"),
        ("synapse.max_upload_size_mb", "50.0", "valid integer"),
        ("synapse.max_upload_size_mb", '"50"', "valid integer"),
        ("synapse.presence", "1", "valid boolean"),
        ("synapse.presence", "yes", "valid boolean"),
        ("synapse.login_rate_limit.per_second", "true", "number"),
        # bounds for every number
        ("tls.hsts_max_age", "63072001", "less than or equal to 63072000"),
        ("tls.hsts_max_age", "-1", "greater than or equal to 0"),
        ("synapse.login_rate_limit.per_second", ".inf", "finite"),
        ("synapse.login_rate_limit.per_second", ".nan", "finite"),
        ("synapse.login_rate_limit.per_second", "1e-9", "greater than or equal"),
        ("synapse.login_rate_limit.burst_count", "10000000", "less than or equal"),
        ("postgresql.max_connections", "100000", "less than or equal"),
        ("synapse.media.remote_lifetime", "999999999y", "at most 100y"),
        ("synapse.media.remote_lifetime", "0d", "above 0"),
        # full-match grammars: a trailing newline or another script's digits are refused
        ("synapse.version", '"1.163.2\\n"', "release number"),
        ("synapse.log_level", '"INFO\\n"', "log_level"),
        ("irc_bridge.relay.tag", '"m\\n"', "letters"),
        ("synapse.media.remote_lifetime", '"90d\\n"', "duration"),
        ("synapse.media.remote_lifetime", "\u0669\u0660d", "duration"),
        ("backup.schedule", '"daily\\nExecStart=/bin/sh"', "calendar"),
        # names and addresses
        ("server_name", "192.0.2.1", "not a DNS host name"),
        ("homeserver.host", "matrix.example.test.", "not a DNS host name"),
        ("acme.email", '"ops@example.test\\n"', "e-mail"),
        ("acme.email", "a'b@example.test", "e-mail"),
        ("monitoring.smtp.smarthost", "smtp.example.test:99999", "host:port"),
        ("monitoring.smtp.smarthost", "smtp.example.test:25 x", "host:port"),
        ("synapse.email.smtp_user", '"u\\nx"', "SMTP user"),
        # URLs: parsed, no newline, no quote, only their schemes
        ("monitoring.webhook_url", '"https://hooks.example.test/a\\nb"', "URL"),
        ("monitoring.webhook_url", "https://hooks.example.test/a'b", "no quotes"),
        ("monitoring.webhook_url", "ftp://hooks.example.test/", "http:// or https://"),
        ("element.identity_server", 'https://id.example.test/"x', "URL"),
        ("element.identity_server", "https://user:pw@id.example.test/", "URL"),
        ("acme.directory", "http://acme.example.test/dir", "https://"),
        ("acme.directory", "https://acme.example.test/{{ x }}", "URL"),
        # paths and other text that lands in files
        ("backup.repositories", "[\"u@h.example.test:{{ lookup('pipe','id') }}\"]", "borg"),
        ("backup.repositories", '["u@h.example.test:/srv/$(id)"]', "borg"),
        ("element.brand", '"Element\\n"', "brand"),
        ("element.brand", "x" * 65, "brand"),
        ("irc_bridge.admins", '["@a:example.test\\n"]', "Matrix user"),
        ("irc_bridge.admins", '["@a\\"b:example.test"]', "Matrix user"),
        # link previews: never loopback or metadata, not even spelled in IPv6
        ("synapse.url_previews.allow_ranges", "['::ffff:127.0.0.1']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['::ffff:169.254.169.254']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['::ffff:10.0.0.0/104']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['64:ff9b::7f00:1']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['64:ff9b::a9fe:a9fe']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['64:ff9b::10.0.0.1']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['2002:7f00:1::/48']", "IPv4"),
        ("synapse.url_previews.allow_ranges", "['fd00:ec2::254']", "metadata"),
        ("synapse.url_previews.allow_ranges", "['0.0.0.0']", "loopback"),
    ],
)
def test_a_bad_value_is_refused_where_it_is_written(
    site_dir: Path, key: str, value: str, says: str
) -> None:
    _set_refused(site_dir, key, value, says)


def test_an_unknown_key_names_the_closest_known_one(site_dir: Path) -> None:
    result = runner.invoke(app, ["--site", str(site_dir), "config", "get", "synapse.presense"])
    assert result.exit_code == 2 and "did you mean 'synapse.presence'?" in result.stderr
    with (site_dir / "wmx.yaml").open("a") as handle:
        handle.write("\nmonitorng:\n  retention_days: 3\n")
    result = runner.invoke(app, ["--site", str(site_dir), "config", "validate"])
    assert result.exit_code == 2
    assert "wmx.yaml:" in result.stderr and "did you mean 'monitoring'?" in result.stderr


def test_an_unknown_group_or_misspelt_host_in_the_inventory_is_refused(site_dir: Path) -> None:
    inventory = site_dir / "inventory.yml"
    text = inventory.read_text()
    inventory.write_text(text.replace("\n    monitoring:\n", "\n    monitorng:\n"))
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 2
    assert "inventory.yml:" in result.stderr and "did you mean 'monitoring'?" in result.stderr
    inventory.write_text(
        text.replace(
            "\n    monitoring:\n      hosts:\n        matrix:",
            "\n    monitoring:\n      hosts:\n        matrx:",
        )
    )
    result = runner.invoke(app, ["--site", str(site_dir), "render"])
    assert result.exit_code == 2 and "misspelling of 'matrix'" in result.stderr
    assert not (site_dir / "build").exists()


@pytest.mark.parametrize("name", ["1.2.3.4", "a..b", "-a.b", "a.b\n", "A_B.org", "a.b/c", "x"])
def test_check_hostname_refuses(name: str) -> None:
    with pytest.raises(ValueError):
        check_hostname(name)


def test_good_values_pass_unchanged() -> None:
    assert check_hostname("Matrix.Example.org") == "matrix.example.org"
    assert check_email("ops+alerts@example.org") == "ops+alerts@example.org"
    assert (
        check_url("https://id.example.org:8443/a/b?c=d#e")
        == "https://id.example.org:8443/a/b?c=d#e"
    )
    assert check_user_masks(["@*:example.org", "@alice:example.org:8448"])
    assert check_allow_ranges(["10.0.0.0/8", "2001:db8::/32"]) == ["10.0.0.0/8", "2001:db8::/32"]
