"""`wmx doctor`, `wmx logs` and `wmx backup` for the operator of a deployed site, with
host answers recorded on a lab site while things were broken by hand: a stopped service
is a failed check of its own, a check that could not look does not advise changing what
it looked for, every fix names commands that exist and says true things about them, a
timer's logs include its job's, and a repository error comes with what to do."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from wmx.backup.hints import hint
from wmx.backup.present import show_listing, show_run
from wmx.components.component import Service
from wmx.doctor.backups import signing_key_check
from wmx.doctor.checks import DEPLOY
from wmx.doctor.inside import HostFacts, collation_check, disk_check
from wmx.doctor.run import INSIDE_KINDS
from wmx.doctor.services import services_check
from wmx.ops.logs import journal_argv
from wmx.present import console
from wmx.site.topology import HostView

LAB1 = HostView("lab1", "10.213.0.11", ("database", "homeserver", "proxy"))
GOLDEN = Path(__file__).parent / "golden" / "cli_tree.txt"
SERVICES = [
    Service("firewall", "nftables.service"),
    Service("postgresql", "postgresql@*-main.service"),
    Service("synapse", "matrix-synapse.service"),
    Service("heisenbridge", "heisenbridge.service"),
    Service("backup", "wmx-backup.timer"),
]
# `systemctl list-units --all --plain --no-legend --full UNITS…` on the lab host with
# PostgreSQL stopped, Synapse crash-looping on a broken homeserver.yaml, the bridge gone.
LIST_UNITS = (
    "heisenbridge.service       loaded inactive dead    Heisenbridge\n"
    "matrix-synapse.service     loaded activating auto-restart Synapse Matrix homeserver\n"
    "nftables.service           loaded active exited  nftables\n"
    "postgresql@17-main.service loaded inactive dead PostgreSQL Cluster 17-main\n"
    "wmx-backup.timer           loaded active waiting wmx backup of the homeserver\n"
)
PSQL_DOWN = (
    'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" '
    "failed: No such file or directory\n"
    "\tIs the server running locally and accepting connections on that socket?\n"
)
BORG_PASSPHRASE = (
    "passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD "
    "is incorrect."
)


def answering(stdout: str = "", stderr: str = "", rc: int = 0):  # type: ignore[no-untyped-def]
    def run(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, rc, stdout, stderr)

    return run


def test_stopped_and_crashing_services_fail_a_check_of_their_own() -> None:
    assert "services" in INSIDE_KINDS
    check = services_check(LAB1, SERVICES, answering(LIST_UNITS), several_hosts=False)
    assert not check.ok and check.id == "services:lab1" and check.side == "inside"
    assert check.detail == (
        "postgresql (postgresql@17-main.service) is inactive (dead); synapse "
        "(matrix-synapse.service) is activating (auto-restart); heisenbridge "
        "(heisenbridge.service) is inactive (dead)"
    )
    for name in ("postgresql", "synapse", "heisenbridge"):
        assert f"`wmx logs {name}`" in check.fix
    assert "`wmx deploy` starts what was stopped and puts back" in check.fix


def test_running_services_pass_and_a_missing_unit_is_not_installed() -> None:
    running = re.sub(r"inactive dead|activating auto-restart", "active running", LIST_UNITS)
    check = services_check(LAB1, SERVICES, answering(running), several_hosts=True)
    assert check.ok and check.detail == "5 units active"
    without = "\n".join(line for line in running.splitlines() if "heisenbridge" not in line)
    missing = services_check(LAB1, SERVICES, answering(without), several_hosts=True)
    assert missing.detail == "heisenbridge (heisenbridge.service) is not installed"
    assert "`wmx logs heisenbridge --host lab1`" in missing.fix


def test_a_database_that_does_not_answer_is_not_a_wrong_collation() -> None:
    check = collation_check(LAB1, "synapse", answering(stderr=PSQL_DOWN, rc=2))
    assert not check.ok
    assert check.detail.startswith("psql: error: connection to server on socket")
    assert "`wmx logs postgresql`" in check.fix and "collation" not in check.fix
    missing = collation_check(LAB1, "synapse", answering(stdout=""))
    assert missing.detail == "no database synapse" and "C collation" in missing.fix
    assert collation_check(LAB1, "synapse", answering(stdout="C C\n")).ok


def _commands(text: str) -> list[str]:
    """Every `wmx …` command a text names, as far as its words go (no options)."""
    found = []
    for quoted in re.findall(r"`(wmx [^`]*)`", text):
        words = [w for w in quoted.split() if re.fullmatch(r"[a-z][a-z-]*", w)]
        found.append(" ".join(words))
    return found


def test_fix_texts_name_commands_that_exist_and_do_not_misdescribe_wmx_diff() -> None:
    tree = GOLDEN.read_text()
    full = HostFacts(0, 0, 0, [("/", 100 << 30, 1 << 29)], 1, 1)
    texts = [
        disk_check("lab1", full).fix,
        DEPLOY,
        services_check(LAB1, SERVICES, answering(LIST_UNITS), several_hosts=False).fix,
        *(advice for _, advice in __import__("wmx.backup.hints").backup.hints.HINTS),
    ]
    lines = ["\n" + line for line in tree.splitlines()]
    for text in texts:
        for command in _commands(text):
            # the longest prefix of its words that the CLI tree knows must be a command,
            # not a group (`wmx media purge` would stop at the group `wmx media`)
            words = command.split()
            while words and not any(x.startswith(f"\n{' '.join(words)}:") for x in lines):
                words.pop()
            prefix = "\n" + " ".join(words) + " "
            assert len(words) >= 2, (command, text)
            assert not any(x.startswith(prefix) for x in lines), (command, text)
    assert "wmx diff` first shows what differs on the hosts" not in DEPLOY
    assert "`wmx deploy`" in DEPLOY


def test_a_timers_logs_include_the_job_it_starts() -> None:
    argv = journal_argv(LAB1, Service("backup", "wmx-backup.timer"), None, False, 50)
    assert "--unit wmx-backup.timer --unit wmx-backup.service" in argv[-1]
    plain = journal_argv(LAB1, Service("nginx", "nginx.service"), None, False, 50)
    assert plain[-1].count("--unit") == 1


def test_repository_errors_come_with_what_to_do() -> None:
    assert "backup_passphrase" in hint(BORG_PASSPHRASE)
    assert "mount" in hint("Repository /var/backups/wmx/borg does not exist.")
    assert hint("something new") == ""
    with console.capture() as out:
        show_run({"repositories": {"local": {"ok": False, "error": BORG_PASSPHRASE}}})
        show_listing(
            {
                "repositories": [
                    {"label": "local", "url": "/b", "ok": False, "error": BORG_PASSPHRASE}
                ],
                "status": {},
            }
        )
    assert out.get().count("fix: the passphrase on the host is not the one") == 2
    key = {"key_id": "ed25519:a_x", "sha256": "1"}
    check = signing_key_check({"live": key, "repositories": {"local": {"error": BORG_PASSPHRASE}}})
    assert not check.ok and "backup_passphrase" in check.fix and "wmx backup run" not in check.fix


def test_logs_takes_a_timers_unit_name_without_its_suffix(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wmx.cli import app
    from wmx.ops.logs import find_service
    from wmx.site import load_site

    root = tmp_path / "site"
    result = CliRunner().invoke(
        app, ["init", str(root), "--defaults", "--server-name", "example.test"]
    )
    assert result.exit_code == 0, result.output
    site = load_site(root)
    for name in ("backup", "wmx-backup", "wmx-backup.service", "wmx-backup.timer"):
        assert find_service(site, name, None)[1].unit == "wmx-backup.timer", name


def _deployed(tmp_path: Path, files: dict[str, str]) -> Path:
    import json

    host_dir = tmp_path / "deployed" / "lab1"
    (host_dir / ".wmx").mkdir(parents=True)
    entries = [
        {"component": "x", "src": f"f{n}", "dest": dest, "sha256": digest}
        for n, (dest, digest) in enumerate(files.items())
    ]
    (host_dir / ".wmx" / "manifest.json").write_text(json.dumps(entries))
    return host_dir


def test_a_file_edited_by_hand_on_a_host_is_found_and_named(tmp_path: Path) -> None:
    from wmx.doctor.drift import drift_check

    hs, tls, gone = "/etc/matrix-synapse/homeserver.yaml", "/etc/nginx/wmx-tls.conf", "/etc/x"
    deployed = _deployed(tmp_path, {hs: "a" * 64, tls: "b" * 64, gone: "c" * 64})
    asked: list[list[str]] = []

    def sha256sum(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
        asked.append(argv)
        # what sha256sum printed on the lab host after `echo … >> wmx-tls.conf`
        out = f"{'a' * 64}  {hs}\n{'d' * 64}  {tls}\n"
        err = f"sha256sum: {gone}: No such file or directory\n"
        return subprocess.CompletedProcess(argv, 1, out, err)

    check = drift_check(LAB1, deployed, sha256sum)
    assert asked == [["sha256sum", "--", hs, tls, gone]]
    assert not check.ok and check.id == "config-drift:lab1"
    assert check.detail == f"edited on the host since the last deploy: {tls}; missing: {gone}"
    assert "`wmx deploy` puts them back" in check.fix
    same = drift_check(LAB1, _deployed(tmp_path / "2", {hs: "a" * 64}), sha256sum)
    assert same.ok and same.detail == "1 file as the last deploy left them"
    assert drift_check(LAB1, tmp_path / "none", sha256sum).ok  # never deployed


def test_a_file_sha256sum_cannot_read_is_said_as_such_not_as_missing(tmp_path: Path) -> None:
    """The doctor asks through wmx.ssh.sums as the deploy does: only "No such file" is a
    missing file; any other complaint is the cause, not a file to put back."""
    from wmx.doctor.drift import drift_check

    hs, key = "/etc/matrix-synapse/homeserver.yaml", "/etc/matrix-synapse/signing.key"
    deployed = _deployed(tmp_path, {hs: "a" * 64, key: "b" * 64})

    def sha256sum(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
        err = f"sha256sum: {key}: Permission denied\n"
        return subprocess.CompletedProcess(argv, 1, f"{'a' * 64}  {hs}\n", err)

    check = drift_check(LAB1, deployed, sha256sum)
    assert not check.ok and check.detail == f"sha256sum: {key}: Permission denied"
    assert "missing" not in check.detail and "wmx status" in check.fix


def test_a_manifest_path_that_wmx_never_writes_is_not_asked_for(tmp_path: Path) -> None:
    from wmx.doctor.drift import deployed_hashes

    deployed = _deployed(
        tmp_path, {"/etc/ok": "a" * 64, "relative": "b" * 64, "/etc/../shadow": "c" * 64}
    )
    assert deployed_hashes(deployed) == {"/etc/ok": "a" * 64}


def test_a_host_ssh_does_not_reach_is_one_check_not_a_row_of_wrong_fixes(
    tmp_path: Path,
) -> None:
    """Recorded with the lab host's sshd stopped: before, nine failed checks, the
    collation one saying PostgreSQL does not answer and the backup ones to run a backup."""
    from typer.testing import CliRunner

    from wmx.cli import app
    from wmx.doctor.run import DoctorOptions, run_doctor
    from wmx.site import load_site

    root = tmp_path / "site"
    init = ["init", str(root), "--defaults", "--server-name", "example.test"]
    assert CliRunner().invoke(app, init).exit_code == 0
    refused = "ssh: connect to host 10.213.0.11 port 22: Connection refused\n"
    asked: list[list[str]] = []

    def ssh_refused(host: HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
        asked.append(argv)
        return subprocess.CompletedProcess(argv, 255, "", refused)

    skip = ("registration", "admin-api-hidden", "synapse-release")
    options = DoctorOptions(outside=False, skip=skip, run=ssh_refused)
    report = run_doctor(load_site(root), options)
    (check,) = report.checks
    assert check.id.startswith("ssh:") and not check.ok and len(asked) == 1
    assert "cannot be reached over SSH: connect to host 10.213.0.11 port 22" in check.detail
    assert "inventory.yml" in check.fix
    # --skip clock does not hide it
    skipping = DoctorOptions(
        outside=False, skip=(*skip, "clock", "disk", "memory"), run=ssh_refused
    )
    assert [c.kind for c in run_doctor(load_site(root), skipping).checks] == ["ssh"]


def test_an_untrusted_chain_is_said_once_with_the_ca_file_option() -> None:
    """Recorded on the lab site without --ca-file: nine HTTPS checks failed, each with a
    fix to deploy; none named the option that was missing."""
    from rich.console import Console

    from wmx.doctor.checks import Check, Report
    from wmx.doctor.outside import _tls_fix
    from wmx.doctor.present import render_report

    untrusted = (
        "the certificate chain on 10.213.0.11:443 is not trusted: unable to get local issuer "
        "certificate"
    )
    report = Report(
        "wmx.test",
        [
            Check("tls:wmx.test:443", "TLS", False, untrusted, _tls_fix("tls-untrusted", "x", 1)),
            Check("client-versions", "Client API versions", False, untrusted, "x"),
        ],
    )
    console = Console(width=300, record=True, color_system=None)
    for line in render_report(report):
        console.print(line)
    text = console.export_text()
    assert text.count("run again with --ca-file PEM") == 1
    assert "`wmx doctor --ca-file PEM`" in report.checks[0].fix
    assert "--ca-file" not in _tls_fix("tls-expired", "x", 1)


def test_a_gateway_error_points_at_synapse_not_nginx() -> None:
    """Recorded on the lab with Synapse crash-looping: /_matrix/client/versions and the
    key and version endpoints answered 502, and the details said only "status 502"."""
    import pytest

    from wmx.doctor.fetch import Response
    from wmx.doctor.outside import _json_of

    for status in (502, 503, 504):
        answer = Response("https://m/x", "10.213.0.11", status, {}, b"<html>", None)
        with pytest.raises(ValueError, match=r"Synapse behind it does not \(`wmx logs synapse`\)"):
            _json_of(answer)
    with pytest.raises(ValueError, match=r"^status 404$"):
        _json_of(Response("https://m/x", "10.213.0.11", 404, {}, b"", None))
