"""`wmx-backup` on a host, run over SSH with the inventory's connection settings.

Only subcommand names, repository labels, archive names and paths travel on the command
line; the tool reads its passphrase on the host (BORG_PASSCOMMAND), so nothing secret is
ever in an argv here or there.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import threading
from collections.abc import Callable
from typing import IO, Any

from wmx.components.backup import TOOL
from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.ssh.unreachable import SSH_FAILED, unreachable

NOT_FOUND = 127  # the remote shell's status for a command that does not exist
CHUNK = 1 << 20
BUSY = 75  # wmx-backup: another backup or restore holds the host's lock


class NotDeployed(WmxError):
    def __init__(self, host: HostView) -> None:
        super().__init__(
            f"{host.name} has no wmx backup tooling ({TOOL} is missing): deploy the site "
            f"to it first (`wmx deploy --limit {host.name}`) with backup.enabled: true"
        )


def _cause(stderr: str) -> str:
    """The tool's own one-line message, else ssh's last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    own = [line.removeprefix("wmx-backup: ") for line in lines if line.startswith("wmx-backup:")]
    if own:
        return own[-1]
    return lines[-1] if lines else "no message"


class HostTool:
    """Runs `wmx-backup SUBCOMMAND …` on one host."""

    def __init__(self, host: HostView) -> None:
        self.host = host

    def argv(self, *args: str) -> list[str]:
        return connection(self.host).command([TOOL, *args])

    def _check(self, rc: int, stderr: str, what: str) -> None:
        missing = rc == NOT_FOUND and ("No such file" in stderr or "not found" in stderr)
        # Through sudo, a missing program is sudo's own error (status 1).
        if missing or f"{TOOL}: command not found" in stderr:
            raise NotDeployed(self.host)
        if rc == SSH_FAILED:
            raise unreachable(self.host, stderr)
        if rc != 0:
            raise WmxError(f"{what} on {self.host.name} failed: {_cause(stderr)}")

    def json(self, *args: str, input: str | None = None, timeout: float | None = None) -> Any:
        """Run a subcommand that answers one JSON document on stdout."""
        proc = subprocess.run(
            self.argv(*args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self._check(proc.returncode, proc.stderr, f"wmx-backup {args[0]}")
        try:
            return json.loads(proc.stdout)
        except ValueError:
            raise WmxError(
                f"wmx-backup {args[0]} on {self.host.name} answered something other than JSON"
            ) from None

    def events(self, *args: str, on_event: Callable[[dict[str, Any]], None]) -> int:
        """Run a subcommand that prints JSON lines; hand each to on_event; return its status."""
        with (
            tempfile.TemporaryFile(mode="w+") as errors,
            subprocess.Popen(
                self.argv(*args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            ) as proc,
        ):
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        on_event(event)
            except BaseException:
                # Ctrl-C or SIGTERM (wmx.entry) mid-stream: Popen's exit would wait for an
                # ssh that goes on until its next write fails.
                proc.terminate()
                raise
            rc = proc.wait()
            errors.seek(0)
            stderr = errors.read()
        # 1: the job ran and failed; 75: it is busy. Both answered with a result.
        if rc not in (0, 1, BUSY):
            self._check(rc, stderr, f"wmx-backup {args[0]}")
        return rc

    def stdout_to(self, args: list[str], sink: IO[bytes]) -> None:
        """Run a subcommand whose stdout (e.g. a key export) goes to `sink` as it is."""
        with tempfile.TemporaryFile(mode="w+") as errors:
            proc = subprocess.run(
                self.argv(*args), stdin=subprocess.DEVNULL, stdout=sink, stderr=errors, check=False
            )
            errors.seek(0)
            self._check(proc.returncode, errors.read(), f"wmx-backup {args[0]}")


def stream_between(
    source: HostTool,
    source_args: list[str],
    target: HostTool,
    target_args: list[str],
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> Any:
    """Pipe one host's subcommand output into another's input through this machine.

    Returns the target's JSON answer. Both sides' errors are reported with their host.
    """
    with (
        tempfile.TemporaryFile(mode="w+") as source_errors,
        tempfile.TemporaryFile(mode="w+") as target_errors,
        tempfile.TemporaryFile(mode="w+") as target_out,
    ):
        sender = subprocess.Popen(
            source.argv(*source_args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=source_errors,
        )
        receiver = subprocess.Popen(
            target.argv(*target_args),
            stdin=subprocess.PIPE,
            stdout=target_out,
            stderr=target_errors,
        )
        assert sender.stdout is not None and receiver.stdin is not None
        broken: list[BaseException] = []

        def pump() -> None:
            assert sender.stdout is not None and receiver.stdin is not None
            try:
                while block := sender.stdout.read(CHUNK):
                    receiver.stdin.write(block)
                    if on_bytes:
                        on_bytes(len(block))
            except (BrokenPipeError, OSError) as error:
                broken.append(error)
            finally:
                with contextlib.suppress(OSError):
                    receiver.stdin.close()

        worker = threading.Thread(target=pump, daemon=True)
        worker.start()
        worker.join()
        sent = sender.wait()
        received = receiver.wait()
        source_errors.seek(0)
        target_errors.seek(0)
        target_out.seek(0)
        if sent != 0:
            source._check(sent, source_errors.read(), f"wmx-backup {source_args[0]}")
        target._check(received, target_errors.read(), f"wmx-backup {target_args[0]}")
        text = target_out.read()
    try:
        return json.loads(text)
    except ValueError:
        raise WmxError(
            f"wmx-backup {target_args[0]} on {target.host.name} gave no answer"
        ) from None
