"""A real IRC client for the tests: a socket (TLS when asked), a reader thread, and the
lines it received, parsed enough to ask "did <nick> say <text> in <channel>?"."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

_LINE = re.compile(r"^(?:@\S+ )?(?::(?P<prefix>\S+) )?(?P<command>\S+)(?P<params>.*)$")


@dataclass(frozen=True)
class Message:
    nick: str
    user: str
    target: str
    text: str


@dataclass
class IrcClient:
    host: str
    port: int
    nick: str
    tls_cafile: str | None = None
    server_name: str | None = None
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.sock = self._connect()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :wmx test client")
        self.wait_for(lambda line: f" 001 {self.nick} " in line, "the server's welcome")

    def _connect(self, attempts: int = 3) -> socket.socket:
        # A server that has just restarted may fail a first handshake: try again.
        for attempt in range(attempts):
            raw = socket.create_connection((self.host, self.port), timeout=15)
            try:
                sock: socket.socket
                if self.tls_cafile:
                    context = ssl.create_default_context(cafile=self.tls_cafile)
                    sock = context.wrap_socket(raw, server_hostname=self.server_name or self.host)
                else:
                    sock = raw
            except (ssl.SSLError, OSError):
                raw.close()
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
                continue
            sock.settimeout(None)
            return sock
        raise AssertionError("unreachable")

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.sock.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\r\n" in buffer:
                raw, buffer = buffer.split(b"\r\n", 1)
                line = raw.decode("utf-8", errors="replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:])
                with self._lock:
                    self.lines.append(line)

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        self.wait_for(
            lambda line: " JOIN " in line and line.startswith(f":{self.nick}!"),
            f"joining {channel}",
        )

    def say(self, target: str, text: str) -> None:
        for part in text.split("\n"):
            self.send(f"PRIVMSG {target} :{part}")

    def messages(self, target: str | None = None) -> list[Message]:
        found = []
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            match = _LINE.match(line)
            if not match or match.group("command") != "PRIVMSG":
                continue
            prefix = match.group("prefix") or ""
            nick, _, rest = prefix.partition("!")
            user = rest.partition("@")[0]
            params = match.group("params").strip()
            msg_target, _, text = params.partition(" :")
            if target is None or msg_target.lower() == target.lower():
                found.append(Message(nick, user, msg_target, text))
        return found

    def wait_for(self, check: object, what: str, timeout: float = 60, start: int = 0) -> str:
        """The first line from index `start` on that passes `check`."""
        deadline = time.monotonic() + timeout
        seen = start
        while time.monotonic() < deadline:
            with self._lock:
                lines = list(self.lines)
            for line in lines[seen:]:
                if check(line):  # type: ignore[operator]
                    return line
            seen = len(lines)
            time.sleep(0.1)
        tail = "\n".join(self.lines[-10:])
        raise AssertionError(f"{self.nick} timed out waiting for {what}; last lines:\n{tail}")

    def wait_message(self, target: str, text: str, timeout: float = 60) -> Message:
        """A PRIVMSG to `target` whose text contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages(target):
                if text in message.text:
                    return message
            time.sleep(0.2)
        got = [f"<{m.nick}> {m.text}" for m in self.messages(target)]
        raise AssertionError(f"{self.nick} never saw {text!r} in {target}; saw {got}")

    def whois_user(self, nick: str, timeout: float = 30) -> str:
        """The user (ident) field of `nick`'s WHOIS: '~name' when identd did not answer."""
        with self._lock:
            start = len(self.lines)
        self.send(f"WHOIS {nick}")
        line = self.wait_for(
            lambda line: f" 311 {self.nick} {nick} " in line, f"WHOIS {nick}", timeout, start
        )
        return line.split(f" 311 {self.nick} {nick} ", 1)[1].split(" ", 1)[0]

    def in_channel(self, channel: str, nick: str, timeout: float = 120) -> None:
        """Wait until `nick` is on `channel` (asking NAMES every few seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                start = len(self.lines)
            self.send(f"NAMES {channel}")
            self.wait_for(lambda line: " 366 " in line, f"NAMES {channel}", 30, start)
            with self._lock:
                replies = [ln for ln in self.lines[start:] if " 353 " in ln]
            names = {n.lstrip("~&@%+") for ln in replies for n in ln.split(" :", 1)[-1].split()}
            if nick in names:
                return
            time.sleep(3)
        raise AssertionError(f"{nick} did not come back to {channel} within {timeout:.0f} s")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send("QUIT :bye")
        self.sock.close()
