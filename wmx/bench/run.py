"""One bench run from start to end: accounts, rooms, load, figures, and removal of
everything the run made, whatever happened (Ctrl-C included)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from wmx.admin.client import SynapseAdmin
from wmx.bench.accounts import create_accounts, new_run_id, remove, user_ids
from wmx.bench.load import LoadRun, Report
from wmx.bench.spec import BenchResult, BenchSpec
from wmx.errors import WmxError


@dataclass
class BenchOutcome:
    result: BenchResult
    run_id: str
    left_behind: list[str] = field(default_factory=list)


def run_bench(
    admin: SynapseAdmin,
    spec: BenchSpec,
    *,
    server_name: str,
    client_url: str,
    tls: ssl.SSLContext | None = None,
    report: Report | None = None,
    stage: Callable[[str], None] = lambda _what: None,
) -> BenchOutcome:
    """Make the run's accounts through `admin`, load `client_url` with them, remove them."""
    run_id = new_run_id()
    ids = user_ids(server_name, run_id, spec.users)
    outcome = BenchOutcome(BenchResult(spec, server_name, client_url), run_id)
    load: LoadRun | None = None
    try:
        stage(f"creating {spec.users} accounts")
        accounts = create_accounts(admin, ids)
        load = LoadRun(spec, client_url, accounts, outcome.result, tls=tls, report=report)
        asyncio.run(_drive(load, run_id, ids[0], stage))
    finally:
        stage("removing the run's rooms and accounts")
        rooms = load.room_ids if load else []
        outcome.left_behind = remove(admin, ids, rooms)
    return outcome


async def _drive(load: LoadRun, run_id: str, first_user: str, stage: Callable[[str], None]) -> None:
    try:
        try:
            await load.check_server(first_user)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise WmxError(f"cannot reach {load.client_url}: {exc or type(exc).__name__}") from None
        stage(f"creating {load.spec.rooms} rooms")
        await load.make_rooms(run_id)
        stage("sending")
        await load.run()
    finally:
        await load.close()
