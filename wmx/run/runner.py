"""Run one playbook through ansible-runner, show it, and say how it went.

Secrets hygiene, end to end:

- extra vars go to the run's ``env/extravars`` file (0600, in a 0700 run dir) and
  reach Ansible as ``-e @file``, never as a command-line value that ``ps`` shows;
  that file is kept with the run record, so **secrets must not be extra vars**:
  pass them with ``secret_files`` (the playbook gets the file's path);
- every event's text is scrubbed before it is shown, written to ``job_events/`` or
  kept in the transcript: results hidden by ``no_log`` stay hidden, including the
  error message ansible-core 2.19 would print for a failing ``no_log`` task;
- task arguments, ``invocation`` and raw results are never printed;
- ansible-runner's copy of the inherited environment in ``artifacts/<id>/command``
  is cut down to the variables wmx set, and no fact cache is written (facts include
  the environment of the remote, or local, user).

What stays the playbook author's job: ``no_log: true`` on every task that handles a
secret (a task without it prints what it was given, as Ansible always does).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ansible_runner
from ansible_runner.exceptions import AnsibleRunnerException
from rich.console import Console
from rich.text import Text

from wmx.run.display import RunDisplay, run_display
from wmx.run.environment import (
    ansible_env,
    ansible_playbook_executable,
    ensure_ssh_control_dir,
)
from wmx.run.errors import RunError, RunSetupError
from wmx.run.events import RunTracker
from wmx.run.interrupt import AnsibleStopper, interrupts_received
from wmx.run.results import RunResult
from wmx.run.rundirs import (
    KEEP_RUNS,
    create_run_dir,
    encode_extravars,
    encode_host_vars,
    trim_command_record,
    write_extravars,
    write_host_vars,
    write_transcript,
)
from wmx.run.secret_files import secret_file_vars
from wmx.run.summary import print_summary


def _ansible_args(playbook: Path, *, check: bool, diff: bool) -> str:
    # ansible-runner appends -i, --limit, -e @env/extravars and --tags itself.
    args = [str(playbook)]
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    return shlex.join(args)


class RunObserver:
    """ansible-runner's event and status handlers for one run."""

    def __init__(
        self,
        tracker: RunTracker,
        display: RunDisplay,
        stopper: AnsibleStopper,
        *,
        recorded_env: Mapping[str, str],
    ) -> None:
        self.tracker = tracker
        self.display = display
        self.stopper = stopper
        self.recorded_env = recorded_env
        self.transcript: list[str] = []
        self.errors: list[str] = []

    def on_event(self, event: dict[str, Any]) -> bool:
        """Track, scrub and show one event; True lets ansible-runner keep it.

        ansible-runner writes the event to ``job_events/`` after this returns, so the
        scrubbed text replaces Ansible's there too. An exception here would abort
        ansible-runner mid-run, so none may escape.
        """
        if event.get("event") == "playbook_on_start" and isinstance(event.get("pid"), int):
            self.stopper.ansible_pid = event["pid"]
        try:
            with self.display.lock:
                handled = self.tracker.handle(event)
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            return False  # not understood, so not known to be safe to keep
        event["stdout"] = handled.stdout
        self.transcript.append(handled.stdout)
        try:
            self.display.show(handled.notes)
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error}")
        return True

    def on_status(self, status_data: dict[str, Any], runner_config: Any) -> None:
        # The command record (with the inherited environment) is written between
        # "starting" and "running": trim it as soon as it exists.
        if status_data.get("status") == "running":
            trim_command_record(Path(runner_config.artifact_dir), self.recorded_env)


def run_playbook(
    *,
    runs_dir: Path,
    playbook: Path,
    inventory: Path,
    extravars: Mapping[str, object],
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    verbose: bool = False,
    tags: list[str] | None = None,
    console: Console,
    secret_files: Mapping[str, Path] | None = None,
    host_vars: Mapping[str, Mapping[str, object]] | None = None,
    keep_runs: int = KEEP_RUNS,
) -> RunResult:
    """Run ``playbook`` against ``inventory``, showing progress on ``console``.

    Each run gets its own private data directory under ``runs_dir`` (see
    :mod:`wmx.run.rundirs`); the newest ``keep_runs`` are kept. ``extravars`` must
    not hold secrets (they are kept on disk with the run): give secrets as
    ``secret_files={"var_name": path}`` and the playbook receives ``var_name`` set to
    the file's absolute path. Files must be mode 0600 or stricter.

    ``host_vars`` gives each host its own variables: they are written to
    ``hostvars/<host>.yml`` in the run dir and the playbook receives the directory as
    ``wmx_host_vars_dir`` (it loads the file with ``include_vars``). Extra vars and host
    vars alike reach Ansible with every string tagged ``!unsafe``
    (:mod:`wmx.run.unsafe`): site data is never evaluated as a template.

    Task failures do not raise: they are in the returned :class:`RunResult` (and
    shown). :class:`~wmx.run.errors.RunError` is raised only when the run could not
    be carried out (missing playbook, unsafe secret file, ansible-runner error).
    """
    playbook = playbook.resolve()
    inventory = inventory.resolve()
    if not playbook.is_file():
        raise RunSetupError(f"playbook {playbook} does not exist")
    if not inventory.exists():
        raise RunSetupError(f"inventory {inventory} does not exist")
    executable = ansible_playbook_executable()
    secret_paths = secret_file_vars(secret_files or {}, extravars)
    env = ansible_env()
    if "-o ControlPath=" in env.get("ANSIBLE_SSH_ARGS", ""):
        ensure_ssh_control_dir()

    # Encoded before the run dir exists, so that a value Ansible cannot take fails first.
    all_vars: dict[str, object] = {
        **extravars,
        **{name: str(path) for name, path in secret_paths.items()},
    }
    encoded_vars = encode_extravars(all_vars) if all_vars else None
    encoded_hosts = encode_host_vars(host_vars) if host_vars is not None else None

    run_dir = create_run_dir(runs_dir, keep=keep_runs)
    run_id = run_dir.name
    if encoded_hosts is not None:
        all_vars["wmx_host_vars_dir"] = str(write_host_vars(run_dir, encoded_hosts))
        encoded_vars = encode_extravars(all_vars)
    if encoded_vars is not None:
        write_extravars(run_dir, encoded_vars)

    tracker = RunTracker(secret_paths=tuple(secret_paths.values()))
    mode = " (check mode, nothing will be changed)" if check else ""
    with (
        run_display(console, tracker, verbose=verbose, diff=diff) as display,
        interrupts_received() as interrupts,
    ):
        stopper = AnsibleStopper(interrupts, lambda message: display.say(message, "bold yellow"))
        observer = RunObserver(tracker, display, stopper, recorded_env=env)
        display.say(f"ansible-playbook {playbook.name}{mode} · run {run_id}", "dim")
        try:
            runner = ansible_runner.run(
                private_data_dir=str(run_dir),
                project_dir=str(playbook.parent),
                ident=run_id,
                binary=str(executable),
                cmdline=_ansible_args(playbook, check=check, diff=diff),
                inventory=str(inventory),
                limit=limit,
                tags=",".join(tags) if tags else None,
                envvars=env,
                # Ansible's raw text can quote what no_log hid: wmx writes a scrubbed
                # transcript instead. A short pexpect wait lets Ctrl-C act within a
                # second.
                settings={"suppress_output_file": True, "pexpect_timeout": 1},
                quiet=True,
                # No jsonfile fact cache: facts hold the target user's environment.
                fact_cache_type="memory",
                # One run per private data dir; run dirs are pruned by wmx.
                rotate_artifacts=1,
                event_handler=observer.on_event,
                status_handler=observer.on_status,
                cancel_callback=stopper,
            )
        except AnsibleRunnerException as error:
            raise RunError(f"ansible-runner could not run {playbook.name}: {error}") from None

    artifact_dir = Path(runner.config.artifact_dir)
    write_transcript(artifact_dir, observer.transcript)
    rc = runner.rc if isinstance(runner.rc, int) else 1
    # Interrupted Ansible exits on its own (rc 99), which ansible-runner calls "failed".
    status = "canceled" if stopper.interrupted else str(runner.status)
    result = RunResult(
        ok=rc == 0 and status == "successful",
        rc=rc,
        status=status,
        stats=tracker.host_stats(),
        changed_total=tracker.changed_total(),
        failures=tracker.failures(rc, status),
        changed_tasks=list(tracker.changed_tasks),
        artifact_dir=artifact_dir,
        run_dir=run_dir,
        check=check,
    )
    print_summary(console, result)
    if observer.errors:
        console.print(
            Text(f"wmx: the progress display failed ({observer.errors[0]}); the run went on")
        )
    return result
