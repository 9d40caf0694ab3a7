"""A scripted Synapse for the administration tests: a real `SynapseAdmin` whose requests
go to httpx's MockTransport, answered by (method, path prefix) and recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from wmx.admin import account
from wmx.admin.client import SynapseAdmin


class Synapse:
    """Answers by (method, path prefix), 404 otherwise; records every request."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, str]] = []
        self.sessions = 0  # clients made: each command's session makes one

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        for (method, prefix), body in self.answers.items():
            if request.method == method and request.url.path.startswith(prefix):
                return httpx.Response(200, json=body)
        return httpx.Response(404, json={"errcode": "M_NOT_FOUND", "error": "not found"})

    def changes(self) -> list[tuple[str, str]]:
        return [sent for sent in self.sent if sent[0] != "GET"]

    def client(self) -> SynapseAdmin:
        self.sessions += 1
        return SynapseAdmin(
            "http://synapse.invalid",
            "token",
            server_name="example.test",
            transport=httpx.MockTransport(self),
            sleep=lambda _: None,
        )


def scripted_sessions(monkeypatch: pytest.MonkeyPatch, scripted: Synapse) -> Synapse:
    """`scripted`, which every command's admin session talks to."""

    @contextmanager
    def session(site: Any, url: str | None = None) -> Iterator[SynapseAdmin]:
        with scripted.client() as admin:
            yield admin

    monkeypatch.setattr(account, "admin_session", session)
    return scripted
