"""The host-side programs (wmx/agent) without a host: what they may import, that they
run under their host name, and their pure parts."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wmx.agent import HOST_NAME, sources
from wmx.agent import probe as agent_probe
from wmx.agent.backup import borg, config, facts, job, metrics, restore
from wmx.components.backup import TOOL

# Debian packages the backup role installs, imported only where they are used.
# synapse: wikimedia_login.py runs inside Synapse (with stand-ins when it is not there).
HOST_PACKAGES = {"psycopg2", "cryptography", "synapse"}


def test_the_agent_imports_only_the_standard_library_and_itself() -> None:
    for name, text in sources().items():
        for node in ast.walk(ast.parse(text, name)):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: the package itself, whatever its name on the host
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names | HOST_PACKAGES, f"{name}: {module}"
        assert len(text.splitlines()) < 500, name
    # importlib.import_module("psycopg2") counts too: nothing else is loaded that way.
    assert "import_module(" not in "".join(
        t for n, t in sources().items() if n != "backup/facts.py"
    )


def test_the_agent_runs_under_its_host_name_without_wmx(tmp_path: Path) -> None:
    for name, text in sources().items():
        target = tmp_path / HOST_NAME / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); "
        "import wmx_agent.backup.cli, wmx_agent.probe; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'wmx'], 'imports wmx'; "
        "sys.exit(wmx_agent.backup.cli.main(['--help']))"
    )
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "restore-files" in proc.stdout and "wmx-backup" in proc.stdout


def test_the_entry_script_is_the_one_wmx_runs() -> None:
    assert config.TOOL == TOOL


def test_borg_env_file_is_read_like_systemd_does() -> None:
    text = '# comment\nBORG_PASSCOMMAND="cat /etc/wmx/backup/passphrase"\nBORG_RSH=ssh -i k\n\nX'
    assert config.parse_env_file(text) == {
        "BORG_PASSCOMMAND": "cat /etc/wmx/backup/passphrase",
        "BORG_RSH": "ssh -i k",
    }


def test_a_missing_job_config_says_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(config.Failure, match="no wmx backup"):
        config.load_config(tmp_path / "job.json")


def test_unknown_repository_names_the_known_ones() -> None:
    repos = {"repositories": [{"label": "vault", "url": "ssh://x"}, {"label": "local"}]}
    assert borg.repository(repos, None)["label"] == "vault"
    with pytest.raises(config.Failure, match="known: vault, local"):
        borg.repository(repos, "nas")


def test_retention_becomes_borgs_keep_options() -> None:
    retention = {"daily": 7, "weekly": 0, "monthly": 6, "keep_within_hours": 24}
    assert job.retention_args(retention) == [
        "--keep-daily=7",
        "--keep-monthly=6",
        "--keep-within=24H",
    ]


def test_calendar_output_gives_the_interval() -> None:
    output = (
        "  Original form: daily\n"
        "Next elapse: Thu 2026-11-26 00:00:00 UTC\n"
        "       Iter. #2: Fri 2026-11-27 00:00:00 UTC\n"
        "       Iter. #3: Sat 2026-11-28 00:00:00 UTC\n"
    )
    moments = metrics.calendar_moments(output)
    assert len(moments) == 3
    # systemd 257 (Debian 13) spells the iterations out.
    assert metrics.calendar_moments(output.replace("Iter. #", "Iteration #")) == moments
    assert metrics.max_age_for(86400) == 36 * 3600
    assert metrics.max_age_for(3600) == 2 * 3600
    assert metrics.max_age_for(0) == metrics.DEFAULT_MAX_AGE


def test_status_keeps_the_last_failure_and_success() -> None:
    ok = {"ok": True, "error": "", "repositories": {"local": {"ok": True}}}
    bad = {"ok": False, "error": "", "repositories": {"vault": {"ok": False}}}
    status = metrics.updated_status(metrics.updated_status({}, ok), bad)
    assert status == {"last_run": bad, "last_success": ok, "last_failure": bad}


def test_a_remote_database_is_dumped_over_verified_tls_with_its_passfile() -> None:
    ca = "/etc/matrix-synapse/database-ca.crt"
    remote = {
        "database": {"local": False, "name": "synapse", "host": "db1", "port": 5432,
                     "user": "synapse", "passfile": "/etc/wmx/backup/pgpass",
                     "sslmode": "verify-full", "sslrootcert": ca},
    }  # fmt: skip
    assert facts.pg_cli_args(remote) == [
        "-h", "db1", "-p", "5432", "-U", "synapse", "-d", "synapse", "-w",
    ]  # fmt: skip
    assert facts.as_database_user(remote, ["pg_dump"]) == ["pg_dump"]
    env = facts.pg_env(remote)
    assert env["PGPASSFILE"] == "/etc/wmx/backup/pgpass"
    assert (env["PGSSLMODE"], env["PGSSLROOTCERT"]) == ("verify-full", ca)
    params = facts.database_params(remote)
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", ca)
    local = {"database": {"local": True, "name": "synapse"}}
    assert facts.database_params(local) == {"dbname": "synapse"}
    assert facts.as_database_user(local, ["x"]) == ["runuser", "-u", "postgres", "--", "x"]


def test_media_checksums_are_cached_and_verified(tmp_path: Path) -> None:
    store = tmp_path / "media_store"
    (store / "local_content" / "ab").mkdir(parents=True)
    (store / "local_content" / "ab" / "cd").write_bytes(b"picture")
    cfg = {
        "media_store": str(store),
        "state_dir": str(tmp_path / "state"),
        "media_dirs": [str(store / "local_content"), str(store / "remote_content")],
    }
    staging = tmp_path / "staging"
    staging.mkdir()
    assert facts.media_checksums(cfg, staging) == 1
    sums = (staging / "media.sha256").read_text()
    assert sums.endswith("  local_content/ab/cd\n")
    cache = json.loads((tmp_path / "state" / "media-sums.json").read_text())
    assert list(cache) == ["local_content/ab/cd"]
    assert facts.verify_media(store, sums) == {"checked": 1, "mismatched": [], "missing": []}
    (store / "local_content" / "ab" / "cd").write_bytes(b"changed")
    assert facts.verify_media(store, sums)["mismatched"] == ["local_content/ab/cd"]


def test_a_restore_probes_every_part_of_an_archive() -> None:
    cfg = {
        "staging_dir": "/var/backups/wmx/staging",
        "signing_key": "/var/lib/synapse/signing.key",
        "media_dirs": ["/var/lib/synapse/media_store/local_content"],
    }
    assert restore.archive_parts(cfg) == {
        "database dump": "var/backups/wmx/staging/db/synapse.pgdump",
        "facts": "var/backups/wmx/staging/facts.json",
        "media checksums": "var/backups/wmx/staging/media.sha256",
        "signing key": "var/lib/synapse/signing.key",
        "media local_content": "var/lib/synapse/media_store/local_content",
        "configuration": "etc",
    }
    assert restore.inside(Path("/r"), "/etc/nginx") == Path("/r/etc/nginx")


def test_progress_is_json_lines_for_wmx_and_plain_for_the_journal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    job.Reporter(True).step("dump", "Dumping")
    job.Reporter(False).step("dump", "Dumping")
    job.Reporter(False).progress("create:local", nfiles=3)
    assert capsys.readouterr().out == '{"step": "dump", "message": "Dumping"}\nDumping\n'


# --- the status probe ---------------------------------------------------------------------


def test_probe_reads_systemd_meminfo_and_textfile_metrics() -> None:
    assert agent_probe.parse_properties("ActiveState=active\nSubState=running\n") == {
        "ActiveState": "active",
        "SubState": "running",
    }
    meminfo = "MemTotal:  2048 kB\nMemFree: 1 kB\nMemAvailable:  1024 kB\n"
    assert agent_probe.memory(meminfo) == {"MemTotal": 2048 * 1024, "MemAvailable": 1024 * 1024}
    text = '# HELP x y\nwmx_backup_last_run_success 1\nbroken\nwith_label{a="b"} 2.5\n'
    assert agent_probe.textfile_metrics(text) == {
        "wmx_backup_last_run_success": 1.0,
        "with_label": 2.5,
    }
    assert [d["path"] for d in agent_probe.disks(["/", "/", "/nonexistent"])] == ["/"]


def test_probe_runs_from_stdin_as_wmx_status_sends_it(tmp_path: Path) -> None:
    metrics_file = tmp_path / "wmx_backup.prom"
    metrics_file.write_text("wmx_backup_last_run_success 0\n")
    params = {
        "services": [],
        "disk_paths": ["/"],
        "cert_path": str(tmp_path / "none.pem"),
        "backup_metrics": str(metrics_file),
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-", json.dumps(params)],
        input=Path(agent_probe.__file__).read_text(),
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data["backup"] == {"wmx_backup_last_run_success": 0.0}
    assert data["cert_not_after"] is None and data["units"] == []
    assert data["uptime_seconds"] >= 0 and data["memory"]["MemTotal"] > 0
