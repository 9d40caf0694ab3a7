"""`wmx-backup init` asks a repository host again when ssh says it dropped the
connection (its sshd restarted by a package installed beside the deploy): a first deploy
on Debian 12 once failed there, "Connection closed by remote host. Is borg working on
the server?", while the next connection would have worked."""

from __future__ import annotations

from typing import Any

import pytest

from wmx.agent.backup import repositories

DROPPED = "Connection closed by remote host\nIs borg working on the server?\n"


def _borg(answers: list[tuple[int, str]], asked: list[list[str]]) -> Any:
    def borg(argv: list[str], check: bool = True) -> tuple[int, str, str]:
        asked.append(argv)
        rc, stderr = answers.pop(0)
        return rc, "{}", stderr

    return borg


def test_a_dropped_connection_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []
    monkeypatch.setattr(repositories, "borg", _borg([(2, DROPPED), (0, "")], asked))
    monkeypatch.setattr("time.sleep", lambda _: None)
    assert repositories._info("ssh://borg@lab7/./repo") == (0, "")
    assert len(asked) == 2


def test_other_failures_and_a_host_that_stays_away_are_not_waited_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[str]] = []
    monkeypatch.setattr("time.sleep", lambda _: None)
    monkeypatch.setattr(repositories, "borg", _borg([(2, "Permission denied")], asked))
    assert repositories._info("u") == (2, "Permission denied")
    assert len(asked) == 1
    monkeypatch.setattr(repositories, "borg", _borg([(2, DROPPED)] * 3, asked))
    assert repositories._info("u") == (2, DROPPED)
    assert len(asked) == 1 + repositories.ATTEMPTS
