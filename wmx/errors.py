"""The one exception type the CLI turns into a one-line error and an exit code."""

from __future__ import annotations


class WmxError(Exception):
    """An error the operator can act on; its message is the whole story (no traceback).

    exit_code follows the usual convention: 2 for bad input, 1 for everything else.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InputError(WmxError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)
