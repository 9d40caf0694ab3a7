"""The relay's STATUS read by `wmx irc sync` and `plumb`: a silent bridge is an error, not a
disconnected relay (which would send a RECONNECT and drop it from every plumbed channel)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from wmx.irc.bot import BridgeBot, BridgeError, Replies
from wmx.irc.manage import STATUS_TIMEOUT, BridgeManager
from wmx.irc.state import BridgeRoom

ROOM = BridgeRoom("!net:example.test", "network", "@wmx:example.test", True, {"name": "libera"})


class Bot:
    """Answers STATUS with the given notices; records what it was asked."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.asked: list[tuple[str, str, float]] = []

    def ask(self, room_id: str, text: str, answer: str, *, timeout: float = 15) -> Replies:
        self.asked.append((room_id, text, timeout))
        return Replies(self.texts)


def manager(bot: Bot) -> BridgeManager:
    nothing = cast(Any, None)  # relay_connected reads neither the site nor the view
    return BridgeManager(cast(BridgeBot, bot), nothing, nothing, sleep=lambda _: None)


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
    assert manager(bot).relay_connected(ROOM) is connected
    assert bot.asked == [(ROOM.room_id, "STATUS", STATUS_TIMEOUT)]


@pytest.mark.parametrize("texts", [(), ("Unknown command: STATUS",)])
def test_no_answer_is_an_error_that_changes_nothing(texts: tuple[str, ...]) -> None:
    with pytest.raises(BridgeError) as caught:
        manager(Bot(*texts)).relay_connected(ROOM)
    message = str(caught.value)
    assert "did not answer STATUS in libera's room" in message
    assert "nothing was changed" in message
    assert (texts[0] if texts else "no answer") in message
