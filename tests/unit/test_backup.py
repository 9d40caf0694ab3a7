"""Backups (issue 7) without a host: settings, what lands where, the job's own logic.

The job is the host-side package wmx.agent.backup, copied verbatim to the host: its pure
parts (metrics, borg's error lines) are tested here as they ship (more in test_agent.py).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.conftest import require_tool
from wmx.agent.backup import borg as agent_borg
from wmx.agent.backup import metrics as agent_metrics
from wmx.backup.progress import QuietSteps
from wmx.backup.restore import Check, compare_facts
from wmx.cli import app
from wmx.components import components_of
from wmx.components.backup import backup_view
from wmx.errors import InputError
from wmx.ops.drill import drill_target
from wmx.ops.lab_glue import lab_inventory_text
from wmx.ops.restore import restore
from wmx.render import render_site, write_build
from wmx.render.role_vars import role_vars
from wmx.resources import data_dir
from wmx.site import Site, SitePaths, load_site
from wmx.site.init import init_site
from wmx.site.model import BackupSettings, SiteConfig, check_calendar
from wmx.site.secrets import Secrets, write_secrets
from wmx.site.topology import HostView, Topology

SECRETS = Secrets(**{f.name: f"test-{f.name.replace('_', '-')}-0000" for f in fields(Secrets)})
BASE: dict[str, Any] = {
    "server_name": "example.test",
    "homeserver": {"host": "matrix.example.test"},
    "web_client": {"host": "element.example-web.test"},
    "contacts": {"admin_email": "admin@example.test"},
    "acme": {"email": "acme@example.test"},
    "backup": {"enabled": True},
}
ONE = HostView("hs1", "10.0.0.1", ("database", "homeserver", "proxy"))
REPO = HostView("vault", "10.0.0.9", ("backup",))


def _site(tmp_path: Path, hosts: list[HostView], **backup: Any) -> Site:
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    write_secrets(root / "secrets.yml", SECRETS)
    config = {**BASE, "backup": {"enabled": True, **backup}}
    return Site(
        paths=SitePaths(root),
        config=SiteConfig.model_validate(config),
        topology=Topology(hosts=tuple(hosts)),
    )


def _files(site: Site, host: str) -> dict[str, Any]:
    return {f.dest: f for f in render_site(site)[host]}


# --- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["daily", "hourly", "*-*-* 03:15", "Mon..Fri 02:30", "Sat,Sun 04:00:00", "03:15",
     "*-*-* *:00/15", "2030-01-01 00:00 UTC", "Mon 03:00 Europe/Berlin"],
)  # fmt: skip
def test_calendar_expressions_systemd_accepts(spec: str) -> None:
    assert BackupSettings(schedule=spec).schedule == spec


@pytest.mark.parametrize(
    "spec",
    ["sometimes", "", "25:00:00:00", "daily\nExecStart=/bin/sh", "03:15; rm -rf /", "Funday"],
)
def test_bad_calendar_expressions_are_refused_with_an_example(spec: str) -> None:
    with pytest.raises(ValidationError) as error:
        BackupSettings(schedule=spec)
    assert "systemd calendar expression" in str(error.value)
    assert "*-*-* 03:15" in str(error.value)


def test_calendar_shorthand_is_normalised() -> None:
    assert check_calendar("  Daily ") == "daily"


@pytest.mark.parametrize("field", ["daily", "weekly", "monthly"])
def test_negative_retention_is_refused(field: str) -> None:
    with pytest.raises(ValidationError) as error:
        BackupSettings.model_validate({"retention": {field: -1}})
    assert f"retention.{field}" in str(error.value).replace("\n", ".").replace(" ", "")


def test_retention_that_keeps_nothing_is_refused() -> None:
    with pytest.raises(ValidationError, match="keeps nothing"):
        BackupSettings.model_validate({"retention": {"daily": 0, "weekly": 0, "monthly": 0}})


@pytest.mark.parametrize(
    "url",
    [
        "borg@backup.example.org:/srv/borg/site",
        "ssh://u@h.example.org:2222/./repo",
        "ssh://borg@[fd00::15]:2222/srv/borg",
        "ssh://borg@[2001:db8::9]/srv/borg",
    ],
)
def test_remote_repositories(url: str) -> None:
    assert BackupSettings(repositories=[url]).repositories == [url]


@pytest.mark.parametrize(
    "url",
    [
        "/srv/local",
        "backup.example.org:/x",
        "http://x/y",
        "u@h",
        "ssh://u@[fd00::zz]/x",
        "ssh://u@[10.0.0.1]/x",
        "u@[fd00::1]:/x",
    ],
)
def test_bad_repositories_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="remote borg repository"):
        BackupSettings(repositories=[url])


def test_unknown_backup_key_is_an_error() -> None:
    with pytest.raises(ValidationError):
        BackupSettings.model_validate({"schedul": "daily"})


def test_init_turns_backups_on_and_the_chapter_example_agrees(site_dir: Path) -> None:
    site = load_site(site_dir)
    assert site.config.backup.enabled
    assert "backup" not in {g for h in site.topology.hosts for g in h.groups}
    chapter = (data_dir("inventories") / "chapter" / "wmx.yaml").read_text()
    assert "\nbackup:\n  " in chapter and "  enabled: true\n" in chapter


def test_sre_example_backs_up_to_its_backup_host(tmp_path: Path) -> None:
    root = tmp_path / "sre"
    shutil.copytree(data_dir("inventories") / "sre", root)
    write_secrets(root / "secrets.yml", Secrets.generate())
    site = load_site(root)
    hs1 = site.topology.the("homeserver")
    view = backup_view(site.config, site.topology, hs1)
    assert [r.label for r in view.repositories] == ["backup1", "local"]
    assert not view.database.local and view.database.host == "10.0.0.11"


def test_lab_puts_the_second_host_in_the_backup_group(tmp_path: Path) -> None:
    from wmx.lab import LabHost

    hosts = [LabHost("lab4", "10.213.0.14", True), LabHost("lab5", "10.213.0.15", True)]
    text = lab_inventory_text(hosts, tmp_path / "key", tmp_path / "known_hosts")
    (tmp_path / "inventory.yml").write_text(text)
    from wmx.site.inventory import load_topology

    topology = load_topology(tmp_path / "inventory.yml")
    assert [h.name for h in topology.in_group("backup")] == ["lab5"]
    assert topology.the("homeserver").name == "lab4"


# --- what lands where -----------------------------------------------------------------------


def test_one_host_gets_the_job_units_and_tool(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE], schedule="*-*-* 03:15")
    files = _files(site, "hs1")
    assert {
        "/etc/wmx/backup/job.json",
        "/etc/wmx/backup/borg.env",
        "/etc/wmx/backup/passphrase",
        "/etc/systemd/system/wmx-backup.service",
        "/etc/systemd/system/wmx-backup.timer",
        "/usr/local/sbin/wmx-backup",
    } <= set(files)
    timer = files["/etc/systemd/system/wmx-backup.timer"].content
    assert "OnCalendar=*-*-* 03:15\n" in timer and "Persistent=true" in timer
    service = files["/etc/systemd/system/wmx-backup.service"].content
    assert "ExecStart=/usr/local/sbin/wmx-backup run" in service
    assert "EnvironmentFile=/etc/wmx/backup/borg.env" in service
    assert files["/usr/local/sbin/wmx-backup"].mode == "0755"
    # The program itself: wmx/agent, byte for byte, beside the entry script.
    agent = files["/usr/local/lib/wmx-agent/wmx_agent/backup/cli.py"]
    assert agent.content == Path(agent_borg.__file__).with_name("cli.py").read_text()
    assert "wmx_agent.backup.cli" in files["/usr/local/sbin/wmx-backup"].content
    assert "backup" in components_of(site, ONE)


def test_passphrase_travels_only_in_a_private_secret_file(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE])
    files = _files(site, "hs1")
    passphrase = files["/etc/wmx/backup/passphrase"]
    assert (passphrase.secret, passphrase.mode, passphrase.owner) == (True, "0600", "root")
    assert passphrase.content.strip() == SECRETS.backup_passphrase
    holders = [d for d, f in files.items() if SECRETS.backup_passphrase in f.content]
    assert holders == ["/etc/wmx/backup/passphrase"]
    env = files["/etc/wmx/backup/borg.env"].content
    assert 'BORG_PASSCOMMAND="cat /etc/wmx/backup/passphrase"' in env
    assert "BORG_PASSPHRASE=" not in env
    build = write_build(site, render_site(site))
    assert SECRETS.backup_passphrase not in (build / "hs1/.wmx/vars.json").read_text()
    assert SECRETS.backup_passphrase not in (build / "hs1/.wmx/manifest.json").read_text()


def test_job_config_says_what_is_archived(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE, REPO], retention={"daily": 3, "weekly": 0, "monthly": 2})
    job = json.loads(_files(site, "hs1")["/etc/wmx/backup/job.json"].content)
    assert [r["label"] for r in job["repositories"]] == ["vault", "local"]
    assert job["repositories"][0]["url"] == "ssh://borg@10.0.0.9/srv/wmx-backup/example.test"
    assert job["repositories"][1]["url"] == "/var/backups/wmx/borg"
    assert job["retention"] == {"daily": 3, "weekly": 0, "monthly": 2, "keep_within_hours": 24}
    assert job["database"] == {"local": True, "name": "synapse", "port": 5432}
    assert "/var/lib/synapse/signing.key" in job["paths"]
    assert "/var/lib/synapse/media_store/local_content" in job["media_dirs"]
    assert "/var/lib/synapse/media_store/remote_content" not in job["paths"]
    assert "/etc/matrix-synapse" in job["paths"] and "/etc/nginx" in job["paths"]
    assert job["metrics_file"] == "/var/lib/prometheus/node-exporter/wmx_backup.prom"
    assert not [v for v in SECRETS.values() if v in json.dumps(job)]


def test_remote_media_is_optional(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE], include_remote_media=True)
    job = json.loads(_files(site, "hs1")["/etc/wmx/backup/job.json"].content)
    assert "/var/lib/synapse/media_store/remote_content" in job["media_dirs"]


def test_repository_host_authorizes_the_homeserver_append_only(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE, REPO])
    values = role_vars(site, site.topology, REPO)
    assert values["wmx_components"] == ["base", "backup_repo"]
    assert values["backup_repo_path"] == "/srv/wmx-backup/example.test"
    assert values["backup_repo_clients"] == ["hs1"]
    hs = role_vars(site, site.topology, ONE)
    assert hs["backup_repository_hosts"] == [
        {"name": "vault", "address": "10.0.0.9", "port": 22, "known_hosts_name": "10.0.0.9"}
    ]
    tasks = (data_dir("playbooks") / "roles/backup_repo/tasks/converge.yml").read_text()
    assert 'command="borg serve --append-only --restrict-to-path' in tasks


def test_disabled_backups_render_nothing(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE])
    site = Site(
        site.paths, site.config.model_copy(update={"backup": BackupSettings()}), site.topology
    )
    assert not site.config.backup.enabled
    assert not [f for f in render_site(site)["hs1"] if f.component == "backup"]
    assert not [k for k in role_vars(site, site.topology, ONE) if k.startswith("backup")]


def test_a_site_without_any_repository_is_refused(tmp_path: Path) -> None:
    # Refused when the site is loaded, before anything is rendered.
    with pytest.raises(InputError, match="no repository"):
        _site(tmp_path, [ONE], local_repository=False)


def test_the_homeserver_cannot_be_its_own_remote(tmp_path: Path) -> None:
    both = HostView("hs1", "10.0.0.1", ("database", "homeserver", "proxy", "backup"))
    with pytest.raises(InputError, match="must live on another host"):
        _site(tmp_path, [both])


def test_split_database_is_dumped_over_tcp_with_a_secret_passfile(tmp_path: Path) -> None:
    hosts = [
        HostView("db1", "10.0.0.11", ("database",)),
        HostView("hs1", "10.0.0.12", ("homeserver", "proxy")),
    ]
    site = _site(tmp_path, hosts)
    files = _files(site, "hs1")
    job = json.loads(files["/etc/wmx/backup/job.json"].content)
    assert job["database"]["host"] == "10.0.0.11" and job["database"]["local"] is False
    # pg_dump verifies PostgreSQL's certificate against the CA Synapse's role installs.
    assert job["database"]["sslmode"] == "verify-full"
    assert job["database"]["sslrootcert"] in files
    assert files[job["database"]["sslrootcert"]].content.startswith("-----BEGIN CERTIFICATE")
    pgpass = files["/etc/wmx/backup/pgpass"]
    assert pgpass.secret and pgpass.mode == "0600"
    assert f"10.0.0.11:5432:synapse:synapse:{SECRETS.postgres_password}" in pgpass.content
    assert not [f for f in render_site(site)["db1"] if f.component == "backup"]


def test_extra_repositories_are_labelled_by_host(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE], repositories=["u@offsite.example.org:/b"])
    view = backup_view(site.config, site.topology, ONE)
    assert [(r.label, r.kind) for r in view.repositories] == [
        ("offsite.example.org", "extra"),
        ("local", "local"),
    ]


def test_an_extra_repository_on_an_ipv6_address_is_labelled_by_it(tmp_path: Path) -> None:
    site = _site(tmp_path, [ONE], repositories=["ssh://borg@[fd00::15]:2222/srv/borg"])
    view = backup_view(site.config, site.topology, ONE)
    assert [r.label for r in view.repositories] == ["fd00::15", "local"]


# --- the job on the host ---------------------------------------------------------------------


def test_metrics_use_the_names_monitoring_alerts_on() -> None:
    status = {
        "last_success": {"ended_ts": 1700000000, "original_size": 123, "duration": 4.5,
                         "deduplicated_size": 7},
        "last_run": {"ok": False, "ended_ts": 1700003600},
    }  # fmt: skip
    text = agent_metrics.metrics_text(status, 129600)
    values = dict(
        line.split(" ") for line in text.splitlines() if line and not line.startswith("#")
    )
    assert values == {
        "wmx_backup_last_success_timestamp_seconds": "1700000000",
        "wmx_backup_last_size_bytes": "123",
        "wmx_backup_last_deduplicated_size_bytes": "7",
        "wmx_backup_last_duration_seconds": "4.5",
        "wmx_backup_max_age_seconds": "129600",
        "wmx_backup_last_run_success": "0",
        "wmx_backup_last_run_timestamp_seconds": "1700003600",
    }
    assert "# TYPE wmx_backup_last_size_bytes gauge" in text


def test_metrics_of_a_host_that_never_succeeded_make_alerts_fire() -> None:
    text = agent_metrics.metrics_text({}, 3600)
    assert "wmx_backup_last_success_timestamp_seconds 0\n" in text


def test_borg_errors_come_from_its_log_lines_only() -> None:
    stderr = "\n".join(
        [
            json.dumps({"type": "log_message", "levelname": "INFO", "message": "hi"}),
            json.dumps(
                {
                    "type": "log_message",
                    "levelname": "ERROR",
                    "msgid": "Repository.DoesNotExist",
                    "message": "Repository /x does not exist.",
                }
            ),
        ]
    )
    assert agent_borg.borg_error(stderr) == "Repository /x does not exist."
    assert agent_borg.borg_msgids(stderr) == {"Repository.DoesNotExist"}


def test_max_age_is_one_missed_run() -> None:
    require_tool("systemd-analyze", hint="Debian's systemd")
    assert agent_metrics.max_age("daily") == 36 * 3600
    assert agent_metrics.max_age("hourly") == 2 * 3600


# --- restore and drill ---------------------------------------------------------------------


ARCHIVED = {
    "database": {
        "users": 3,
        "rooms": 2,
        "local_media": 1,
        "largest_rooms": [{"room_id": "!a:x", "joined_members": 2, "latest_event_id": "$e1"}],
    },
    "media_files": 2,
    "signing_key": {"present": True, "key_id": "ed25519:a_AAAA", "public_key": "PUB"},
}


def test_a_faithful_restore_compares_equal() -> None:
    media = {"checked": 2, "mismatched": [], "missing": []}
    checks = compare_facts(ARCHIVED, ARCHIVED, media, {"ed25519:a_AAAA": "PUB"})
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {c.what for c in checks} >= {
        "user count",
        "room count",
        "media file checksums (sha256)",
        "server signing key (restored file)",
        "server key published at /_matrix/key/v2/server",
        "latest event of !a:x (2 members)",
    }


def test_every_difference_is_named() -> None:
    restored = json.loads(json.dumps(ARCHIVED))
    restored["database"]["users"] = 2
    restored["database"]["largest_rooms"][0]["latest_event_id"] = "$other"
    media = {"checked": 2, "mismatched": ["local_content/ab/cd/ef"], "missing": []}
    checks = compare_facts(ARCHIVED, restored, media, {"ed25519:a_BBBB": "NEW"})
    bad = {c.what: c for c in checks if not c.ok}
    assert set(bad) == {
        "user count",
        "latest event of !a:x (2 members)",
        "media file checksums (sha256)",
        "server key published at /_matrix/key/v2/server",
    }
    assert "local_content/ab/cd/ef" in bad["media file checksums (sha256)"].actual
    assert Check("x", "1", "1").ok


def test_drill_never_targets_a_serving_host(tmp_path: Path) -> None:
    spare = HostView("spare", "10.0.0.3", ())
    site = _site(tmp_path, [ONE, REPO, spare])
    assert drill_target(site, None).name == "spare"
    assert drill_target(site, "vault").name == "vault"
    with pytest.raises(InputError, match="serves the site"):
        drill_target(site, "hs1")
    with pytest.raises(InputError, match="no spare host"):
        drill_target(_site(tmp_path, [ONE]), None)


def test_backup_commands_say_when_backups_are_off(tmp_path: Path) -> None:
    root = init_site(tmp_path / "off", _answers()).root
    text = (
        (root / "wmx.yaml")
        .read_text()
        .replace("  enabled: true\n  # When", "  enabled: false\n  # When")
    )
    (root / "wmx.yaml").write_text(text)
    result = CliRunner().invoke(app, ["--site", str(root), "backup", "list"])
    assert result.exit_code == 2
    assert "backups are off" in result.output


def _answers() -> Any:
    from tests.conftest import EXAMPLE

    return EXAMPLE


def test_restore_refuses_a_split_database_clearly(tmp_path: Path) -> None:
    hosts = [
        HostView("db1", "10.0.0.11", ("database",)),
        HostView("hs1", "10.0.0.12", ("homeserver", "proxy")),
    ]
    site = _site(tmp_path, hosts)
    with pytest.raises(InputError, match="single-host data layouts"):
        restore(site, archive="latest", to="hs1", repo=None, force=False, steps=QuietSteps())
    with pytest.raises(InputError, match="homeserver host"):
        restore(site, archive="latest", to="db1", repo=None, force=False, steps=QuietSteps())


def test_a_borg_traceback_becomes_its_one_line_cause() -> None:
    message = (
        'Traceback (most recent call last):\n  File "borg/remote.py", line 752\n'
        "    raise IntegrityError(args[0].decode())\n"
        "borg.helpers.errors.IntegrityError: Data integrity error: Segment entry checksum "
        "mismatch [segment 16, offset 516]\n\nPlatform: Linux\n"
    )
    stderr = json.dumps({"levelname": "ERROR", "message": message}) + "\nConnection closed\n"
    assert agent_borg.borg_error(stderr) == (
        "Data integrity error: Segment entry checksum mismatch [segment 16, offset 516]; "
        "Connection closed"
    )
