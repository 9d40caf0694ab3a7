"""The one exception type the CLI turns into a one-line error and an exit code."""

from __future__ import annotations

import errno
from collections.abc import Sequence


class WmxError(Exception):
    """An error the operator can act on; its message is the whole story (no traceback).

    A message is one line, whatever it quotes: a line break in a value or a file's name
    is shown escaped, never as a second line. Several problems found at once are given
    as a sequence, a line each (`lines`). exit_code follows the usual convention: 2 for
    bad input, 1 for everything else.
    """

    def __init__(self, message: str | Sequence[str], *, exit_code: int = 1) -> None:
        self.lines = (message,) if isinstance(message, str) else tuple(message)
        super().__init__("\n".join(self.lines))
        self.exit_code = exit_code


class InputError(WmxError):
    def __init__(self, message: str | Sequence[str]) -> None:
        super().__init__(message, exit_code=2)


# What a disk says when it refuses a write: full, over quota, read-only, the file too big.
DISK_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


class WriteRefused(WmxError):
    """A file wmx writes could not be written (the disk refused it, or the system did):
    the operator's to fix, but not bad input, so exit 1. One line naming the file; `kept`
    says the file is as it was."""

    def __init__(self, path: object, cause: OSError, *, kept: bool = False) -> None:
        where = f"{path}: cannot be written" if path else "a write failed"
        tail = "; it was left as it was" if kept else ""
        super().__init__(f"{where} ({cause.strerror or cause}){tail}", exit_code=1)


def printable(text: str) -> str:
    """`text` with each character a terminal would not show as text (a line break, ESC, a
    bidi control) written as Python escapes it: an error line stays one line, and nothing
    in it is run by the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
