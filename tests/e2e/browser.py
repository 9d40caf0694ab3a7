"""Headless Chromium (Debian's `/usr/bin/chromium`) driven by Playwright.

Playwright talks to the browser; nothing here speaks the DevTools protocol by hand, and
Playwright never downloads a browser of its own (`executable_path` is Debian's).

The browser trusts the lab's certificates the way Chromium on Linux trusts any CA: they
are imported into a fresh NSS database in its own HOME (`certutil`), so TLS is checked
for real (no ignore-certificate-errors anywhere). Passwords reach the page by typing,
never through the browser's command line.

A `BrowserRun` records what a person could see in the developer tools: console messages,
Content-Security-Policy violations (the `securitypolicyviolation` event and Chromium's
"Refused to …" console errors), and every request that failed or that the homeserver
answered with an error. Each step ends with a screenshot in the run's artifacts
directory; a failing step says which screenshots there are and where.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page, Request, Response

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    # Root in a container: Chromium's sandbox needs user namespaces it may not get.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    # The machine has no network but the lab: without these, Chromium's own background
    # connections (QUIC probes, component updates, sync) stall real ones.
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Reported by the page itself (init script below) and relayed to Python.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.wmxCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} ` +
    `(${event.sourceFile || ''}:${event.lineNumber || 0})`);
});
"""
_CSP_CONSOLE = re.compile(r"Content Security Policy|Refused to (load|execute|apply|connect|frame)")


def available() -> bool:
    """Debian's chromium, certutil (libnss3-tools) and the playwright package."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file() and shutil.which("certutil") is not None


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


class StepFailed(AssertionError):
    """A browser step failed; the message names the screenshots and what the console said."""


@dataclass
class BrowserRun:
    """One browser with one tab, and what it reported while the test drove it."""

    page: Page
    artifacts: Path
    watched_hosts: frozenset[str]
    shots: list[Path] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    # Every response from a watched host: (status, method, url).
    responses: list[tuple[int, str, str]] = field(default_factory=list)

    async def screenshot(self, step: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.artifacts / f"{len(self.shots) + 1:02d}-{slug}.png"
        await self.page.screenshot(path=str(path), full_page=False)
        self.shots.append(path)
        return path

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        """Run one step of the test; a screenshot is taken after it, failed or not."""
        try:
            yield
        except Exception as error:
            try:
                await self.screenshot(f"{name} FAILED")
            except Exception as shot_error:  # the page may be gone; say so and go on
                self.console.append(f"(no screenshot of the failure: {shot_error})")
            raise StepFailed(f"step {name!r} failed: {error}\n{self.report()}") from error
        await self.screenshot(name)

    def report(self) -> str:
        """Where the screenshots are, and what the browser said (for failure messages)."""
        lines = [f"screenshots in {self.artifacts}:"]
        lines += [f"  {shot.name}" for shot in self.shots]
        for title, entries in (
            ("CSP violations", self.csp_violations),
            ("failed requests", self.failed_requests),
            ("console (last 30)", self.console[-30:]),
        ):
            if entries:
                lines.append(f"{title}:")
                lines += [f"  {entry}" for entry in entries]
        return "\n".join(lines)

    def homeserver_errors(self, allowed: Iterable[tuple[int, str]] = ()) -> list[str]:
        """Failed requests to a watched host, and error responses from one except the
        (status, path regex) pairs in `allowed` (answers the protocol expects)."""
        rules = [(status, re.compile(pattern)) for status, pattern in allowed]
        errors = list(self.failed_requests)
        for status, method, url in self.responses:
            path = urlsplit(url).path
            if status < 400:
                continue
            if not any(status == s and rule.search(path) for s, rule in rules):
                errors.append(f"{status} {method} {url}")
        return errors

    # --- event handlers ---------------------------------------------------------------

    def _on_console(self, message: ConsoleMessage) -> None:
        text = f"[{message.type}] {message.text}"
        self.console.append(text)
        if message.type == "error" and _CSP_CONSOLE.search(message.text):
            self.csp_violations.append(message.text)

    def _on_violation(self, description: str) -> None:
        self.csp_violations.append(description)

    def _watched(self, url: str) -> bool:
        return (urlsplit(url).hostname or "") in self.watched_hosts

    def _on_request_failed(self, request: Request) -> None:
        # ERR_ABORTED is the page cancelling a request itself: a long-polling /sync when
        # the page navigates or the client stops syncing (logout). Not a failure.
        if self._watched(request.url) and "ERR_ABORTED" not in (request.failure or ""):
            self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if self._watched(response.url):
            self.responses.append((response.status, response.request.method, response.url))


@asynccontextmanager
async def chromium(
    trust_bundle: Path, artifacts: Path, watched_hosts: Iterable[str]
) -> AsyncIterator[BrowserRun]:
    """A fresh headless Chromium trusting `trust_bundle`, with one blank tab whose
    screenshots go to `artifacts`; requests to `watched_hosts` are checked."""
    from playwright.async_api import async_playwright

    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wmx-chromium-") as scratch:
        home = Path(scratch) / "home"
        trusting_home(trust_bundle, home)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=ARGS,
                env={**os.environ, "HOME": str(home)},
            )
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 800})
                # Actions and navigations wait as long as the tests' expect() (60 s), not
                # Playwright's default 30 s: reloading Cinny on 2 busy cores can take longer.
                context.set_default_timeout(60_000)
                context.set_default_navigation_timeout(60_000)
                page = await context.new_page()
                run = BrowserRun(page, artifacts, frozenset(watched_hosts))
                await context.expose_function("wmxCspViolation", run._on_violation)
                await context.add_init_script(_CSP_LISTENER)
                page.on("console", run._on_console)
                context.on("requestfailed", run._on_request_failed)
                context.on("response", run._on_response)
                yield run
            finally:
                await browser.close()
