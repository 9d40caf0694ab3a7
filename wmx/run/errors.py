"""Errors a run can raise before or around ansible-playbook (task failures are results)."""

from __future__ import annotations


class RunError(Exception):
    """A playbook run could not be carried out; the message says why, in one line."""


class RunSetupError(RunError):
    """A run could not start; the message says what to fix."""


class SecretFileError(RunSetupError):
    """A secret file is missing, not a file, or readable by other users."""
