"""The one exception the lab raises, so the CLI can print a one-line cause."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from wmx.errors import WmxError


class LabError(WmxError):
    """Something the lab could not do; the message is meant for the operator."""


NOT_ROOT_MESSAGE = "wmx lab needs root: it creates network namespaces and boots containers"


def not_root_message(argv: Sequence[str]) -> str:
    """NOT_ROOT_MESSAGE and what to do: the same command under sudo, with wmx's absolute
    path (sudo's PATH does not hold a virtualenv's bin/) when `argv` is wmx's own."""
    program = argv[0] if argv else ""
    if Path(program).name == "wmx":
        again = shlex.join(["sudo", str(Path(program).absolute()), *argv[1:]])
    else:  # wmx as a library (the tests): no command to repeat
        again = "sudo wmx lab …"
    return f"{NOT_ROOT_MESSAGE}; run it as root: `{again}`"
