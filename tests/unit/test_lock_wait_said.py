"""A command waiting for another wmx run's lock (a `config set` beside a long `secrets
rotate`, a render beside a deploy) says so once on stderr before it waits: it had waited
without a word, which looks like a hang."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from wmx.site.yamlfile import lock_path, locked


def test_a_wait_for_a_held_lock_is_said_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "wmx.yaml"
    held = os.open(lock_path(target), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)  # another run's hold (its own open file)
    entered = threading.Event()

    def edit() -> None:
        with locked(target):
            entered.set()

    waiter = threading.Thread(target=edit)
    waiter.start()
    said = ""
    for _ in range(2000):  # until the waiter has said it waits (it then blocks)
        said += capfd.readouterr().err
        if "waiting" in said:
            break
        threading.Event().wait(0.01)
    assert not entered.is_set()
    os.close(held)  # the other run ends
    waiter.join()
    assert entered.is_set()
    said += capfd.readouterr().err
    assert said.count("wmx: waiting for another wmx run, which holds ") == 1, said
    assert str(lock_path(target)) in said


def test_a_free_lock_is_taken_without_a_word(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with locked(tmp_path / "wmx.yaml"):
        pass
    assert capfd.readouterr().err == ""
