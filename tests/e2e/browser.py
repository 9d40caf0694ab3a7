"""Headless Chromium (Debian's `chromium`), driven over the Chrome DevTools Protocol.

The browser trusts the lab's certificates the way Chromium on Linux trusts any CA: they
are imported into a fresh NSS database in its own HOME (`certutil`), so TLS is checked
for real. Values such as passwords reach the page through the protocol, never through
the browser's command line.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = "chromium"
FLAGS = [
    "--headless",
    # Root in a container: Chromium's sandbox needs user namespaces it may not get.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
]


def available() -> bool:
    return shutil.which(CHROMIUM) is not None and shutil.which("certutil") is not None


def _split_pem(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + end + "\n" for part in text.split(end) if part.strip()]


def trusting_home(bundle: Path, home: Path) -> None:
    """An NSS database in `home`/.pki/nssdb trusting every CA certificate in `bundle`."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
    for index, pem in enumerate(_split_pem(bundle.read_text())):
        cert = home / f"ca-{index}.pem"
        cert.write_text(pem)
        subprocess.run(
            ["certutil", "-A", "-d", db, "-n", f"wmx-lab-{index}", "-t", "C,,", "-i", str(cert)],
            check=True,
        )


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        await self._socket.send_json({"id": message_id, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json()
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    async def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            message = await asyncio.wait_for(self._socket.receive_json(), remaining)
            self.events.append(message)

    async def goto(self, url: str) -> None:
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired")

    async def evaluate(self, expression: str, timeout: float = 60) -> Any:
        """The value of a JavaScript expression (awaited if it is a promise)."""
        result = await asyncio.wait_for(
            self.send(
                "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
            ),
            timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def call(self, function: str, *args: Any, timeout: float = 60) -> Any:
        """Call a page function with JSON arguments (values never touch a command line)."""
        encoded = ", ".join(json.dumps(a) for a in args)
        return await self.evaluate(f"{function}({encoded})", timeout)


@asynccontextmanager
async def chromium(trust_bundle: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium trusting `trust_bundle`, with one blank tab."""
    with tempfile.TemporaryDirectory(prefix="wmx-chromium-") as scratch:
        home, profile = Path(scratch) / "home", Path(scratch) / "profile"
        trusting_home(trust_bundle, home)
        profile.mkdir()
        env = {**os.environ, "HOME": str(home)}
        process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"chromium did not start: {error[-2000:]}")
                await asyncio.sleep(0.2)
            port = int(port_file.read_text().splitlines()[0])
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                page_url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
                async with session.ws_connect(page_url, max_msg_size=0) as socket:
                    yield Page(socket)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
