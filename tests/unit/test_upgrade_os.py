"""`wmx upgrade os`: the release notes' checks read from what the host reports, and the
shell that switches apt's sources, run for real on copies of source files."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from wmx.ops import upgrade_os

GOOD = """\
codename=bookworm
free=/=9000000
free=/var=9000000
source=http://deb.debian.org/debian
source=http://deb.debian.org/debian-security
"""


def test_a_clean_debian_12_host_passes_every_check() -> None:
    plan = upgrade_os.parse_os_probe("hs1", GOOD)
    assert (plan.release, plan.target, plan.ok) == ("bookworm", "trixie", True)
    assert [c.what for c in plan.checks] == ["release", "space", "space", "held", "dpkg", "sources"]


def test_each_release_notes_check_fails_by_name() -> None:
    text = (
        GOOD.replace("free=/var=9000000", "free=/var=1000")
        + "held=postgresql-15\n"
        + "audit=The following packages are only half configured\n"
        + "source=https://packages.example.org/debian\n"
    )
    plan = upgrade_os.parse_os_probe("hs1", text)
    failed = {c.what: c.detail for c in plan.checks if not c.ok}
    assert failed == {
        "space": "0 MiB free on /var (2048 needed)",
        "held": "held packages: postgresql-15",
        "dpkg": "dpkg --audit: The following packages are only half configured",
        "sources": "third-party apt sources: https://packages.example.org/debian "
        "(remove or disable them first)",
    }


def test_a_host_already_on_the_last_release_is_refused() -> None:
    plan = upgrade_os.parse_os_probe("hs1", GOOD.replace("bookworm", "trixie"))
    assert not plan.ok
    assert plan.checks[0].detail == "Debian trixie: wmx moves only bookworm → trixie"


def test_sources_are_switched_as_whole_words_and_kept_aside(tmp_path: Path) -> None:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
    )
    (apt / "sources.list.d/debian.sources").write_text("Suites: bookworm bookworm-updates\n")
    (apt / "sources.list.d/other.list").write_text("deb http://x/ notbookwormish main\n")
    script = upgrade_os.sources_script("bookworm", "trixie").replace("/etc/apt", str(apt))
    subprocess.run(["sh", "-c", script], check=True)
    assert (apt / "sources.list").read_text() == (
        "deb http://deb.debian.org/debian trixie main\n"
        "deb http://deb.debian.org/debian trixie-updates main\n"
        "deb http://deb.debian.org/debian-security trixie-security main\n"
    )
    assert (apt / "sources.list.d/debian.sources").read_text() == "Suites: trixie trixie-updates\n"
    assert (apt / "sources.list.d/other.list").read_text() == "deb http://x/ notbookwormish main\n"
    assert "bookworm main" in (apt / "sources.list.wmx-bookworm").read_text()
    assert not (apt / "sources.list.d/other.list.wmx-bookworm").exists()


def test_the_upgrade_is_non_interactive_and_keeps_configuration_files() -> None:
    script = upgrade_os.upgrade_script()
    assert script.index("upgrade --without-new-pkgs") < script.index("full-upgrade")
    assert script.count("DEBIAN_FRONTEND=noninteractive") == 4
    assert "--force-confold" in script


def test_an_unknown_host_is_one_line_before_any_connection(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wmx.cli import app

    runner = CliRunner()
    site = tmp_path / "s"
    made = runner.invoke(app, ["init", str(site), "--defaults", "--server-name", "u.test"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["--site", str(site), "upgrade", "os", "nosuch"])
    assert result.exit_code == 2, result.output
    assert "no host 'nosuch' in the inventory" in result.output
    assert "Traceback" not in result.output


def test_the_old_postgresql_server_is_kept_for_pg_upgradecluster() -> None:
    script = upgrade_os.upgrade_script()
    assert script.index("apt-mark manual") < script.index("full-upgrade")
    assert script.index("full-upgrade") < script.index("autoremove")
    assert "UCF_FORCE_CONFFOLD=1" in script


def test_the_detached_upgrade_leaves_its_log_and_exit_status(tmp_path: Path) -> None:
    """The start script run for real, with systemd-run replaced by a plain sh: the
    script's output lands in the log, its exit status in the status file, and the poll
    reads both."""
    from wmx.ops import upgrade_os_run as detached

    def local(script: str) -> str:
        return (
            script.replace(detached.STATE_DIR, str(tmp_path / "state"))
            .replace(f"systemctl reset-failed {detached.UNIT}.service", "true")
            .replace(
                f"systemd-run --quiet --unit={detached.UNIT} --property=Type=exec /bin/sh", "sh"
            )
        )

    failing = "echo 'Unpacking libc6 (2.41-12)'\necho 'Setting up libc6'\nexit 7\n"
    subprocess.run(["sh", "-c", local(detached.start_script(failing))], check=True)
    polled = subprocess.run(
        ["sh", "-c", local(detached.POLL)], capture_output=True, text=True, check=True
    )
    state = detached.parse_poll(polled.stdout)
    assert state["status"].strip() == "7"
    assert detached.progress_line(state) == "apt: 1 package(s) unpacked, 1 set up"
    assert "Unpacking libc6" in (tmp_path / "state" / "log").read_text()
    # A second start clears the last run's status and log.
    subprocess.run(["sh", "-c", local(detached.start_script("echo ok\n"))], check=True)
    again = subprocess.run(
        ["sh", "-c", local(detached.POLL)], capture_output=True, text=True, check=True
    )
    assert detached.parse_poll(again.stdout)["status"].strip() == "0"
    assert (tmp_path / "state" / "log").read_text() == "ok\n"


def test_a_host_reboots_with_the_boot_environment_its_disk_needs(tmp_path: Path) -> None:
    """A host moved from Debian 12 to 13 reboots under the lab's supervisor into systemd
    257, which needs the cgroup v2 tree: the prefix follows the disk at each boot."""
    from wmx.lab.supervisor import boot_argv

    os_release = tmp_path / "usr/lib/os-release"
    os_release.parent.mkdir(parents=True)
    spec = ["systemd-nspawn", "--boot", f"--directory={tmp_path}"]
    os_release.write_text("VERSION_CODENAME=bookworm\n")
    assert boot_argv(spec, tmp_path) == spec
    os_release.write_text("VERSION_CODENAME=trixie\n")
    assert boot_argv(spec, tmp_path) == ["env", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1", *spec]
    os_release.write_text("VERSION_CODENAME=bookworm\n")
    assert boot_argv(["env", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1", *spec], tmp_path) == spec


BOOT_ID = "6f1c2b0e-8d7a-4e55-9a3b-1f2e3d4c5b6a"


def test_the_boot_mark_is_the_kernels_boot_id_and_pid_1s_start_time() -> None:
    from wmx.ops import upgrade_os_run as detached

    assert detached.BOOT_MARK.startswith("cat /proc/sys/kernel/random/boot_id;")
    assert detached.parse_mark(f"{BOOT_ID}\n4242\n") == ((BOOT_ID, "4242"), [])
    assert detached.parse_mark(f"{BOOT_ID}\n4242\ntrixie\n") == ((BOOT_ID, "4242"), ["trixie"])
    # The old mark alone (the start time), or a half-read one, is no mark.
    for text in ("4242\n", "", f"{BOOT_ID}\n", f"{BOOT_ID}\nsoon\n", "not-a-uuid\n4242\n"):
        with pytest.raises(ValueError):
            detached.parse_mark(text)


def test_a_host_is_back_when_either_half_of_its_boot_mark_changed() -> None:
    """A VM or bare metal gets a new boot_id at each boot, PID 1 may start at the same
    tick; a container restarted on a running kernel keeps the boot_id, not the tick."""
    from wmx.ops import upgrade_os_run as detached

    before = (BOOT_ID, "412")
    assert not detached.booted_anew(before, (BOOT_ID, "412"))
    assert detached.booted_anew(before, ("0b5e33b4-7c1e-4d8f-a4f6-2d9b8e7c6a51", "412"))
    assert detached.booted_anew(before, (BOOT_ID, "98123"))


class _Host:
    """What run_detached reads of a host: its name (every reading goes through `remote`)."""

    name = "hs1"


def _poll_through(
    monkeypatch: pytest.MonkeyPatch, answers: list[str | None], unanswered_takes: float = 0.0
) -> tuple[list[str], list[str]]:
    """Run run_detached against the host's answers to each poll, in order (None: the SSH
    connection is refused, after `unanswered_takes` seconds), on a clock that moves only
    when it sleeps; return what it said and how it ended."""
    from wmx.errors import WmxError
    from wmx.ops import upgrade_os_run as detached

    clock = [0.0]
    replies = iter(answers)

    def remote(host: object, script: str, timeout: float = 600) -> str:
        if script != detached.POLL:
            return "Setting up openssh-server\n"  # the start script and the log's tail
        answer = next(replies)
        if answer is None:
            clock[0] += unanswered_takes
            raise WmxError("hs1 (10.0.0.1) cannot be reached over SSH: Connection reset")
        return answer

    monkeypatch.setattr(detached, "remote", remote)
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    said: list[str] = []
    try:
        detached.run_detached(_Host(), "true\n", said.append)  # type: ignore[arg-type]
    except WmxError as exc:
        return said, [str(exc)]
    return said, ["returned"]


def test_the_upgrade_outlasts_sshd_and_systemd_being_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sshd refusing new connections for minutes, systemctl unanswerable during systemd's
    re-exec and one poll between the status file and the unit's end are not the end."""
    running = "active=active\nunpacked=40\nsetup=2\n"
    answers: list[str | None] = [running, *[None] * 60, "active=\n", "active=inactive\n"]
    said, end = _poll_through(monkeypatch, [*answers, "status=0\nunpacked=90\nsetup=90\n"])
    assert end == ["returned"]
    assert said[-1] == "apt: 90 package(s) unpacked, 90 set up: done"
    assert any("the upgrade goes on on the host" in line for line in said)


def test_a_unit_gone_without_a_status_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = "active=failed\nunpacked=3\nsetup=0\n"
    _, end = _poll_through(monkeypatch, [gone, gone, gone])
    assert end[0].startswith("the package upgrade stopped without an exit status")
    assert "Setting up openssh-server" in end[0]


def test_a_host_silent_for_too_long_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from wmx.ops import upgrade_os_run as detached

    silent = int(detached.UNANSWERED_FOR / detached.POLL_EVERY) + 2
    _, end = _poll_through(monkeypatch, [None] * silent)
    assert end[0].startswith("no answer about the package upgrade for 12")
    assert "Connection reset" in end[0]


def test_the_silence_is_counted_to_the_end_of_the_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll that waits its 60 s for SSH counts in the silence it reports: the last
    answer at 10 s, the first unanswered poll ends at 80 s: 70 s without an answer (it
    said 10 s, then 80 s at 150 s)."""
    running = "active=active\nunpacked=40\nsetup=2\n"
    done = "status=0\nunpacked=90\nsetup=90\n"
    said, _ = _poll_through(monkeypatch, [running, None, None, done], unanswered_takes=60.0)
    silences = [line.split(" s ")[0] for line in said if line.startswith("no answer for")]
    assert silences[:2] == ["no answer for 70", "no answer for 140"]
