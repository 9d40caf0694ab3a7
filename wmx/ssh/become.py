"""The sudo password of a login user whose sudo asks for one (secrets.yml: sudo_password).

It never travels on a command line and never reaches a log:

- to Ansible as its become password *file* (ANSIBLE_BECOME_PASSWORD_FILE, wmx.run);
- to wmx's own SSH commands (status, logs, backup, restore, drill, upgrade, doctor) as
  the first line of the remote command's standard input: locally wmx/ssh/feed.py sends
  that file ahead of the caller's input into ssh, remotely a shell reads the line,
  hands it to `sudo -S -v` through a pipe from the shell's own printf (a builtin: no argv)
  and then runs the command with `sudo -n`, which uses the ticket `-v` just made (the two
  sudo calls share their parent, the remote shell). The rest of the input is the
  command's, untouched.

The file lives, mode 0600, in a private directory made for this wmx process when a
command first needs it (a command that reaches no host makes none) and removed when the
process exits, also on SIGTERM or SIGHUP. One left by a wmx that was killed outright
(SIGKILL) is removed by the next wmx that makes one: the directory is named after its
process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from wmx.site.yamlfile import dead_leftovers

# Runs on the host as `sh -c SCRIPT wmx-become USER COMMAND…`, with the password as the
# first line of its standard input. (`exit $?` keeps the shell, the parent both sudo calls
# share, from exec'ing the last one.)
REMOTE_SCRIPT = (
    "IFS= read -r p || exit 1; u=$1; shift; "
    "printf '%s\\n' \"$p\" | sudo -S -p '' -v 2>/dev/null "
    "|| { p=; echo 'sudo: the sudo password was refused (secrets.yml: sudo_password; "
    "`wmx secrets sudo-password` replaces it)' >&2; exit 1; }; "
    'p=; sudo -n -u "$u" -- "$@"; exit $?'
)
# Runs here as `python3 FEED FILE ssh …`: the password file, then this process's input.
FEED = Path(__file__).with_name("feed.py")


def feed_argv(secret: Path, argv: list[str]) -> list[str]:
    """`argv` with ``secret``'s content ahead of its standard input (wmx/ssh/feed.py)."""
    return [sys.executable, "-I", str(FEED), str(secret), *argv]


_state: dict[str, Path] = {}
_password: dict[str, str] = {}


def use_password(password: str) -> None:
    """Keep ``password`` for this process's sudo (an empty one: none). Its file is made
    when a command that reaches a host first asks for it (password_file), so commands
    that never do (`wmx config get`, `render`, `dns`) leave no copy on disk."""
    forget()
    if password:
        _password["value"] = password


def password_file() -> Path | None:
    """The file holding the sudo password, if one is in use (made on the first call)."""
    if "file" not in _state and "value" in _password:
        _remove_orphans()
        directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        path = directory / "password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(_password["value"] + "\n")
        _state["file"] = path
        atexit.register(_remove_file)
        _remove_on_termination()
    return _state.get("file")


_PREFIX = "wmx-become-"
_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _remove_on_termination() -> None:
    """SIGTERM and SIGHUP end a process without running atexit: where they would (their
    default action), remove the file first, then end as the signal would have."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        _remove_file()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in _TERMINATING:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, on_signal)


def _remove_orphans() -> None:
    """Remove the password directories of this user's wmx processes that are gone."""
    base = Path(tempfile.gettempdir())
    for candidate, _ in dead_leftovers(base, _PREFIX, "-", own_only=True):
        shutil.rmtree(candidate, ignore_errors=True)


def _remove_file() -> None:
    path = _state.pop("file", None)
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


def forget() -> None:
    """Drop the password and its file."""
    _password.clear()
    _remove_file()
