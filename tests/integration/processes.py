"""Waiting for a server the test started itself (Redis, Prometheus, Synapse's workers): until
it answers, or at once when it exits, and either way the failure says why with what it
logged (a bare "returned False" after minutes of polling names no cause)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.e2e.clients import wait_until


def wait_serving(
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
    ready: Callable[[], object],
    what: str,
    diagnose: Callable[[], str],
    timeout: float = 120,
) -> None:
    """Call `ready` until it returns something true (`what`: what it waits for). A process
    that exits fails the wait at once; both failures carry `diagnose()`, such as the end
    of the server's log."""

    def check() -> object:
        if process.poll() is not None:
            pytest.fail(
                f"waiting for {what}: the process exited with status {process.returncode}\n"
                f"{diagnose()}"
            )
        return ready()

    try:
        wait_until(check, what, timeout=timeout, every=0.3)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{diagnose()}") from error
