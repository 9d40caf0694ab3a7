"""wmx.run against real Ansible: tiny playbooks on localhost (ansible_connection=local)."""

from __future__ import annotations

import io
import json
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from tests.unit.test_run_unsafe import load_unsafe_yaml
from wmx.run import CONTROLLER, RunResult, check_syntax, run_playbook

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PLAYBOOKS = Path(__file__).parent / "playbooks"
INVENTORY = PLAYBOOKS / "inventory.yml"
SECRET = "wmx-test-secret-7f3a9c"  # distinctive, so any copy of it is found


class Captured:
    """A non-terminal Console (as in CI) whose output the test can read."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.console = Console(file=self.buffer, force_terminal=False, width=120)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


def run(runs_dir: Path, playbook: str, captured: Captured, **options: object) -> RunResult:
    options.setdefault("extravars", {})
    return run_playbook(
        runs_dir=runs_dir,
        playbook=PLAYBOOKS / playbook,
        inventory=INVENTORY,
        console=captured.console,
        **options,  # type: ignore[arg-type]
    )


def files_containing(root: Path, needle: str) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and needle.encode() in path.read_bytes()
    ]


def write_secret_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_second_run_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The venv is not activated for an operator running .venv/bin/wmx: wmx must find
    # its own ansible-playbook without PATH.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    extravars = {"greeting_name": "wmx", "greeting_dir": tmp_path}
    first_output, second_output = Captured(), Captured()

    first = run(tmp_path / "runs", "greeting.yml", first_output, extravars=extravars)
    second = run(tmp_path / "runs", "greeting.yml", second_output, extravars=extravars)

    assert first.ok, first_output.text
    assert (tmp_path / "greeting.txt").read_text() == "hello wmx\n"
    assert first.changed_total == 1
    assert first.changed_tasks == [("localhost", "Write the greeting file")]
    assert "changed     localhost  Write the greeting file" in first_output.text

    assert second.ok, second_output.text
    assert second.rc == 0 and second.status == "successful"
    assert second.changed_total == 0
    assert second.changed_tasks == []
    assert second.stats["localhost"].changed == 0
    assert second.stats["localhost"].ok == 1
    assert "Run finished: 0 changed on 1 host" in second_output.text


def test_plain_console_prints_one_line_per_task_and_a_recap(tmp_path: Path) -> None:
    captured = Captured()

    result = run(tmp_path / "runs", "failing.yml", captured)

    lines = captured.text.splitlines()
    assert "PLAY Fail on purpose" in lines
    assert "TASK Succeed first" in lines
    assert "TASK List a directory that does not exist" in lines
    assert "Recap" in captured.text
    for header in ("host", "ok", "changed", "failed", "unreachable", "skipped", "rescued"):
        assert header in captured.text
    assert result.stats["localhost"].failed == 1


def test_failure_names_host_task_and_cause(tmp_path: Path) -> None:
    captured = Captured()

    result = run(tmp_path / "runs", "failing.yml", captured)

    assert not result.ok
    assert result.rc != 0
    assert result.status == "failed"
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert failure.host == "localhost"
    assert failure.task == "List a directory that does not exist"
    assert "No such file or directory" in failure.message
    assert "rc 2" in failure.message
    # The panel names host, task and cause; no raw result JSON around it.
    assert "localhost · List a directory that does not exist" in captured.text
    assert "No such file or directory" in captured.text
    for raw_result_key in ("invocation", "module_args", '"stdout_lines"', "_raw_params"):
        assert raw_result_key not in captured.text
    assert "Run failed: 1 failure (ansible-playbook rc 2)" in captured.text


def test_no_log_secret_appears_nowhere(tmp_path: Path) -> None:
    """A secret handled (and failed on) in no_log tasks is in no output and no file.

    Run with --verbose and --diff, where the most of Ansible's own text is shown.
    The secret file itself lives outside the run dir and is passed by path.
    """
    secret_file = write_secret_file(tmp_path / "secret.txt", SECRET + "\n")
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    captured = Captured()

    result = run(
        tmp_path / "runs",
        "secret.yml",
        captured,
        extravars={"demo_output_dir": output_dir},
        secret_files={"demo_secret_file": secret_file},
        verbose=True,
        diff=True,
    )

    # The secret really went through the playbook (so hiding it was not vacuous) …
    assert (output_dir / "secret.conf").read_text() == SECRET + "\n"
    # … the run failed where intended …
    assert not result.ok
    assert [(f.host, f.task) for f in result.failures] == [
        ("localhost", "Fail with the secret in the message")
    ]
    assert result.failures[0].message == "output hidden (no_log)"
    assert "output hidden (no_log)" in captured.text
    # … and the secret is nowhere: console, result, run dir (events, transcript,
    # extravars, command record).
    assert SECRET not in captured.text
    assert SECRET not in repr(result)
    assert files_containing(result.run_dir, SECRET) == []
    extravars = load_unsafe_yaml((result.run_dir / "env" / "extravars").read_text())
    assert extravars["demo_secret_file"] == ("unsafe", str(secret_file.resolve()))


def test_secret_file_lines_quoted_by_an_error_are_hidden(tmp_path: Path) -> None:
    # ansible-core 2.19 prints the source lines around a YAML error; in a secrets
    # file those lines are secrets.
    secret_file = write_secret_file(
        tmp_path / "secrets.yml",
        f'first: "{SECRET}-1"\nsecond: "{SECRET}-2\n  : broken: yaml\nthird: "{SECRET}-3"\n',
    )
    captured = Captured()

    result = run(
        tmp_path / "runs",
        "broken_secrets.yml",
        captured,
        secret_files={"demo_secret_file": secret_file},
        verbose=True,
    )

    assert not result.ok
    assert result.failures[0].host == CONTROLLER
    assert "YAML parsing failed" in result.failures[0].message
    assert "source lines hidden" in result.failures[0].message
    assert SECRET not in captured.text
    assert SECRET not in repr(result)
    assert files_containing(result.run_dir, SECRET) == []


def test_extravars_are_kept_in_the_run_dir_and_never_on_the_command_line(
    tmp_path: Path,
) -> None:
    """Why secrets travel as files: ansible-runner keeps extra vars in env/extravars."""
    marker = "extravar-marker-4b1d"
    captured = Captured()

    result = run(
        tmp_path / "runs",
        "greeting.yml",
        captured,
        extravars={"greeting_name": marker, "greeting_dir": tmp_path},
    )

    assert result.ok, captured.text
    extravars_file = result.run_dir / "env" / "extravars"
    assert stat.S_IMODE(extravars_file.stat().st_mode) == 0o600
    assert files_containing(result.run_dir, marker) == [extravars_file]
    command = json.loads((result.artifact_dir / "command").read_text())["command"]
    assert marker not in " ".join(command)
    assert f"@{extravars_file}" in command


def test_check_mode_with_diff_changes_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    captured = Captured()

    result = run(
        tmp_path / "runs",
        "greeting.yml",
        captured,
        extravars={"greeting_name": "wmx", "greeting_dir": tmp_path},
        check=True,
        diff=True,
    )

    assert result.ok, captured.text
    assert result.check
    assert result.changed_total == 1  # would change
    assert not (tmp_path / "greeting.txt").exists()
    assert "+hello wmx" in captured.text
    assert "check mode" in captured.text
    assert "1 would change" in captured.text


def test_tags_select_tasks(tmp_path: Path) -> None:
    captured = Captured()

    result = run(
        tmp_path / "runs",
        "greeting.yml",
        captured,
        extravars={"greeting_name": "wmx", "greeting_dir": tmp_path},
        tags=["no-such-tag"],
    )

    assert result.ok, captured.text
    assert result.changed_total == 0
    assert not (tmp_path / "greeting.txt").exists()


def test_limit_matching_no_host_is_a_controller_failure(tmp_path: Path) -> None:
    captured = Captured()

    result = run(tmp_path / "runs", "greeting.yml", captured, limit="no-such-host")

    assert not result.ok
    assert [f.host for f in result.failures] == [CONTROLLER]
    assert "no hosts" in result.failures[0].message
    assert "Could not match supplied host pattern" in captured.text


def test_runs_are_private_bounded_and_keep_no_inherited_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "operator-shell-token-91e2"
    monkeypatch.setenv("WMX_TEST_OPERATOR_TOKEN", token)
    runs_dir = tmp_path / "runs"
    extravars = {"greeting_name": "wmx", "greeting_dir": tmp_path}

    results = [
        run(runs_dir, "greeting.yml", Captured(), extravars=extravars, keep_runs=2)
        for _ in range(3)
    ]

    assert stat.S_IMODE(runs_dir.stat().st_mode) == 0o700
    kept = sorted(path.name for path in runs_dir.iterdir())
    assert kept == [results[1].run_dir.name, results[2].run_dir.name]
    last = results[-1]
    assert stat.S_IMODE(last.run_dir.stat().st_mode) == 0o700
    assert last.artifact_dir.parent.parent == last.run_dir
    assert (last.artifact_dir / "stdout").read_text().count("TASK [Write the greeting file]") == 1
    assert list((last.artifact_dir / "job_events").glob("*.json"))
    assert not (last.artifact_dir / "fact_cache").exists()
    assert files_containing(runs_dir, token) == []
    recorded_env = json.loads((last.artifact_dir / "command").read_text())["env"]
    assert recorded_env["ANSIBLE_NOCOLOR"] == "True"
    assert "PATH" not in recorded_env


def test_syntax_check(tmp_path: Path) -> None:
    good = check_syntax(PLAYBOOKS / "greeting.yml", INVENTORY)
    broken_playbook = tmp_path / "broken.yml"
    broken_playbook.write_text("- hosts: all\n  tasks:\n    - name: x\n   oops: [\n")
    broken = check_syntax(broken_playbook, INVENTORY)

    assert good.ok, good.output
    for playbook in sorted(PLAYBOOKS.glob("*.yml")):
        if playbook != INVENTORY:
            assert check_syntax(playbook, INVENTORY).ok, playbook
    assert not broken.ok
    assert broken.rc != 0
    assert "YAML" in broken.output
    assert "\x1b[" not in broken.output


INTERRUPTED_RUN = """
import signal, sys
from pathlib import Path
from rich.console import Console
from wmx.run import run_playbook

# What the run must give back: Python's default handler, or SIG_IGN when this process was
# started with Ctrl-C ignored (a background job of a non-interactive shell).
before = signal.getsignal(signal.SIGINT)
result = run_playbook(
    runs_dir=Path(sys.argv[1]),
    playbook=Path(sys.argv[2]),
    inventory=Path(sys.argv[3]),
    extravars={"sleep_marker": sys.argv[4]},
    console=Console(force_terminal=False),
)
print("RESULT", result.status, result.ok, flush=True)
print("HANDLER RESTORED", signal.getsignal(signal.SIGINT) is before)
"""


def processes_mentioning(*texts: str) -> list[str]:
    """The command lines that hold each of `texts`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(text in argv for text in texts):
            found.append(argv)
    return found


def test_ctrl_c_stops_ansible_and_its_workers(tmp_path: Path) -> None:
    """Ctrl-C ends the run, leaves no Ansible worker or task process behind, and
    leaves Ctrl-C working for the rest of the program."""
    marker = f"wmx-interrupt-test-{tmp_path.name}"
    runs_dir = tmp_path / "runs"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            INTERRUPTED_RUN,
            str(runs_dir),
            str(PLAYBOOKS / "sleep.yml"),
            str(INVENTORY),
            marker,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("TASK Sleep"):
            break
    # Wait until the task's own shell (`sleep 60; echo MARKER`) runs, so that Ctrl-C has it
    # to stop: "TASK Sleep" is printed before the module starts it, and the marker alone
    # is also in the driver's own argv.
    task = (marker, "sleep 60;")
    deadline = time.monotonic() + 30
    while not processes_mentioning(*task) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(*task), "".join(seen)

    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    output = "".join(seen) + rest
    deadline = time.monotonic() + 10
    while processes_mentioning(marker) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert process.returncode == 0, output
    assert "Interrupted: stopping ansible-playbook" in output
    assert "RESULT canceled False" in output
    assert "Run interrupted" in output
    assert "HANDLER RESTORED True" in output
    assert processes_mentioning(marker) == []
    assert processes_mentioning(str(runs_dir)) == []


def test_an_operators_ansible_log_gets_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`log_path` in the operator's ansible.cfg or environment would get Ansible's raw
    text, which quotes the secret of a failing no_log task: wmx runs Ansible without it."""
    by_env, by_config = tmp_path / "env.log", tmp_path / "cfg.log"
    config = tmp_path / "ansible.cfg"
    config.write_text(f"[defaults]\nlog_path = {by_config}\n")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(config))
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(by_env))
    secret_file = write_secret_file(tmp_path / "secret.txt", SECRET + "\n")
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    result = run(
        tmp_path / "runs",
        "secret.yml",
        Captured(),
        extravars={"demo_output_dir": output_dir},
        secret_files={"demo_secret_file": secret_file},
        verbose=True,
    )
    assert not result.ok  # it failed on the secret, as in test_no_log_secret_appears_nowhere
    assert set(files_containing(tmp_path, SECRET)) == {secret_file, output_dir / "secret.conf"}
    assert not by_env.exists() and not by_config.exists()
