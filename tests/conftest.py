"""What every tier shares: the suite's rule on skips, its order, a timing summary per
module, and a freshly initialised site as `wmx init --defaults` writes it.

A test that needs something the machine may lack (a tool, root, a service) says so with
`require(...)` (or `require_tool` / `require_root`), never with a bare `pytest.skip`:
on a developer's machine the test skips with the reason, under `WMX_CI=1` (set by
`.ci/run`) it fails with it, so CI cannot go green by skipping. As a second line, under
`WMX_CI=1` any skip that bypasses these helpers is reported as a failure too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import NoReturn

import pytest

from wmx.site.init import InitAnswers, init_site

CI_VARIABLE = "WMX_CI"


def ci_mode() -> bool:
    """True under `.ci/run`: nothing the suite needs may be missing."""
    return os.environ.get(CI_VARIABLE, "") not in ("", "0")


def missing(reason: str) -> NoReturn:
    """The test cannot run here: skip it, or under WMX_CI=1 fail it, saying why."""
    if ci_mode():
        pytest.fail(f"{reason} ({CI_VARIABLE}=1: what a test needs must be there)", pytrace=False)
    pytest.skip(reason)


def require(condition: object, reason: str) -> None:
    """Go on only if ``condition`` holds; otherwise `missing(reason)`."""
    if not condition:
        missing(reason)


def require_tool(*tools: str, hint: str = "scripts/setup installs it") -> None:
    """Every one of ``tools`` must be on PATH."""
    absent = [tool for tool in tools if shutil.which(tool) is None]
    require(not absent, f"needs {', '.join(absent)} ({hint})")


def require_root(why: str) -> None:
    require(os.geteuid() == 0, f"needs root: {why}")


def answers(server_name: str = "example.test") -> InitAnswers:
    """What `wmx init` asks, answered for a site under ``server_name``."""
    return InitAnswers(
        server_name=server_name,
        homeserver_host=f"matrix.{server_name}",
        web_client_host=f"element.{server_name}",
        admin_email=f"admin@{server_name}",
        acme_email=f"acme@{server_name}",
    )


EXAMPLE = answers("example.test")


def password_login(user: str, password: str) -> dict[str, object]:
    """The body of a Matrix password login (POST /_matrix/client/v3/login)."""
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site", EXAMPLE).root


# --- order -------------------------------------------------------------------------------

# Fast feedback first: unit, then integration, then e2e. Within e2e the lab's own tests
# run first, while no deploy holds hosts, so that `down` and crash recovery are exercised.
_TIER_ORDER = {"unit": 0, "integration": 1, "e2e": 2}


def tier_of(path: Path) -> str:
    for part in reversed(path.parts[:-1]):
        if part in _TIER_ORDER:
            return part
    return "unit"


def _run_order(item: pytest.Item) -> tuple[int, int]:
    path = Path(str(item.fspath))
    return _TIER_ORDER[tier_of(path)], 0 if path.name == "test_lab.py" else 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(Path(str(item.fspath)))
        if tier in ("integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))
    items.sort(key=_run_order)  # stable: keeps file and definition order within a group


# --- no green by skipping ----------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _MODULE_SECONDS[report.nodeid.split("::", 1)[0]] += report.duration
    if ci_mode() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under {CI_VARIABLE}=1, which allows no skip: {reason}"
    return report


# --- where the time goes -----------------------------------------------------------------

# Setup, call and teardown of every test, summed per module: a session fixture (the shared
# deploy) counts in the module of the first test that asks for it.
_MODULE_SECONDS: defaultdict[str, float] = defaultdict(float)
_SESSION_START = time.monotonic()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _MODULE_SECONDS:
        return
    terminalreporter.section("time per module")
    for module, seconds in sorted(_MODULE_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {module}")
    total = time.monotonic() - _SESSION_START
    terminalreporter.write_line(f"{total:8.1f} s  whole session (collection included)")
