"""The relay's STATUS read by `wmx irc sync` and `plumb`: a silent bridge is an error, not a
disconnected relay (which would send a RECONNECT and drop it from every plumbed channel)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from wmx.irc.bot import STATUS_TIMEOUT, BridgeBot, BridgeError, Replies
from wmx.irc.state import BridgeRoom

ROOM = BridgeRoom("!net:example.test", "network", "@wmx:example.test", True, {"name": "libera"})


class Bot(BridgeBot):
    """The real bot's reading of STATUS, with the question answered by the given notices
    (its `ask` is the Matrix round trip); records what it was asked."""

    def __init__(self, *texts: str) -> None:
        super().__init__(cast(Any, None), bot_user_id="@bot:example.test", me="@wmx:example.test")
        self.texts = list(texts)
        self.asked: list[tuple[str, str, float]] = []

    def ask(self, room_id: str, text: str, answer: str, *, timeout: float = 15) -> Replies:
        self.asked.append((room_id, text, timeout))
        return Replies(self.texts)


@pytest.mark.parametrize(
    ("texts", "connected"),
    [
        (("Connected for 3 minutes as wmx-relay",), True),
        (("Not connected to server.",), False),
        (("Some other notice", "Connected for 2 hours"), True),
    ],
)
def test_the_bridges_answer_decides(texts: tuple[str, ...], connected: bool) -> None:
    bot = Bot(*texts)
    assert bot.relay_connected(ROOM) is connected
    assert bot.asked == [(ROOM.room_id, "STATUS", STATUS_TIMEOUT)]


@pytest.mark.parametrize("texts", [(), ("Unknown command: STATUS",)])
def test_no_answer_is_an_error_that_changes_nothing(texts: tuple[str, ...]) -> None:
    with pytest.raises(BridgeError) as caught:
        Bot(*texts).relay_connected(ROOM)
    message = str(caught.value)
    assert "did not answer STATUS in libera's room" in message
    assert "nothing was changed" in message
    assert (texts[0] if texts else "no answer") in message
