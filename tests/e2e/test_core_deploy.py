"""The core deploy on a real lab host, checked from outside as users and operators would."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import subprocess
import time
from functools import partial
from pathlib import Path

import httpx
import pytest
from nio import RoomMessageText, RoomSendResponse, SyncResponse, UploadResponse

from tests.e2e.clients import (
    Account,
    access_token,
    create_account,
    https,
    login,
    trusting,
    wait_until,
)
from tests.e2e.conftest import SERVER_NAME, TRANSCRIPT, UPLOAD_LIMIT_MB, Deployed, wmx


def _changed(output: str) -> int:
    match = re.search(r"Deployed: (\d+) task\(s\) changed", output)
    assert match, output
    return int(match.group(1))


def test_first_deploy_reports_success_and_where_to_go(deployed: Deployed) -> None:
    """The first deploy's output; when the session booted a snapshot, the output recorded
    with it, of a deploy by this very code (tests/e2e/deployments.py keys on it)."""
    out = deployed.first_deploy.stdout
    assert _changed(out) > 0
    assert f"https://{deployed.site.config.homeserver.host}/" in out
    # Ansible's warnings reach the operator as `warning: …` lines: a first deploy of a
    # clean site has none to give (a missing directory found, a temporary directory made).
    assert [line for line in out.splitlines() if line.startswith("warning:")] == []


def _preflight(http: httpx.Client, url: str) -> httpx.Response:
    """A browser's CORS preflight for a GET with an access token, from another origin."""
    return http.options(
        url,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_well_known_delegation_over_verified_tls(deployed: Deployed) -> None:
    with https(deployed.trust) as http:
        server = http.get(f"https://{SERVER_NAME}/.well-known/matrix/server")
        client = http.get(f"https://{SERVER_NAME}/.well-known/matrix/client")
        support = http.get(f"https://{SERVER_NAME}/.well-known/matrix/support")
        preflight = _preflight(http, f"https://{SERVER_NAME}/.well-known/matrix/client")
        versions = http.get(f"{deployed.homeserver_url}/_matrix/client/versions")
    assert server.status_code == 200 and server.json() == {"m.server": f"matrix.{SERVER_NAME}:443"}
    assert client.json()["m.homeserver"]["base_url"].rstrip("/") == deployed.homeserver_url
    assert client.headers["access-control-allow-origin"] == "*"
    assert client.headers["content-type"].startswith("application/json")
    # The spec's server support information: the operators' contact, readable cross-origin.
    contact = {"email_address": deployed.site.config.contacts.admin_email, "role": "m.role.admin"}
    assert support.json() == {"contacts": [contact]}
    assert support.headers["access-control-allow-origin"] == "*"
    # A browser's CORS preflight succeeds (2xx) before a cross-origin read with headers.
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "max-age=" in versions.headers["strict-transport-security"]
    assert "v1.11" in versions.json()["versions"]


def test_plain_http_redirects_to_https(deployed: Deployed) -> None:
    response = httpx.get(f"http://matrix.{SERVER_NAME}/_matrix/client/versions", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://")


async def _conversation(deployed: Deployed, alice: Account, bob: Account) -> None:
    a = await login(deployed.homeserver_url, alice, deployed.trust)
    b = await login(deployed.homeserver_url, bob, deployed.trust)
    try:
        room = await a.room_create(name="e2e", invite=[bob.user_id])
        room_id = room.room_id
        await b.sync(timeout=3000)
        await b.join(room_id)
        body = f"hello from alice, {time.time()}"
        sent = await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        assert isinstance(sent, RoomSendResponse), sent
        seen: list[str] = []
        for _ in range(10):
            sync = await b.sync(timeout=3000)
            assert isinstance(sync, SyncResponse), sync
            joined = sync.rooms.join.get(room_id)
            if joined:
                seen += [e.body for e in joined.timeline.events if isinstance(e, RoomMessageText)]
            if body in seen:
                break
        assert body in seen, f"bob never received the message; saw {seen}"

        small = b"x" * (UPLOAD_LIMIT_MB * 1024 * 1024 // 2)
        ok, _ = await a.upload(
            lambda *_: small, content_type="application/octet-stream", filesize=len(small)
        )
        assert isinstance(ok, UploadResponse), ok
        assert ok.content_uri.startswith(f"mxc://{SERVER_NAME}/")
    finally:
        await a.close()
        await b.close()


def test_two_users_talk_through_the_homeserver(deployed: Deployed) -> None:
    alice = create_account(deployed.site, "alice")
    bob = create_account(deployed.site, "bob")
    asyncio.run(_conversation(deployed, alice, bob))


def test_upload_over_the_limit_is_refused(deployed: Deployed) -> None:
    carol = create_account(deployed.site, "carol")
    with https(deployed.trust) as http:
        token = access_token(http, deployed.homeserver_url, carol)
        big = b"y" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 4096)
        response = http.post(
            f"{deployed.homeserver_url}/_matrix/media/v3/upload",
            content=big,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/octet-stream",
            },
        )
        # A body above the upload limit that Synapse takes elsewhere (a remote server's
        # transaction may reach 12.5 MiB): nginx passes it, Synapse answers (unsigned: 401).
        transaction = http.put(
            f"{deployed.homeserver_url}/_matrix/federation/v1/send/e2e-big",
            content=b'{"pdus": [], "x": "' + big + b'"}',
            headers={"Content-Type": "application/json"},
        )
    # Refused in the spec's words and readable by a web client (CORS), whether Synapse
    # refuses it or nginx (over Synapse's own request limit), never as nginx's HTML page.
    assert response.status_code == 413
    assert response.json()["errcode"] == "M_TOO_LARGE"
    assert response.headers["access-control-allow-origin"] == "*"
    assert transaction.status_code == 401, transaction.text


def test_admin_api_and_metrics_are_not_reachable_from_outside(deployed: Deployed) -> None:
    with https(deployed.trust) as http:
        admin = http.get(f"{deployed.homeserver_url}/_synapse/admin/v1/server_version")
        register = http.get(f"{deployed.homeserver_url}/_synapse/admin/v1/register")
        # Spellings nginx normalizes before it picks a location (Synapse would take the
        # first two as the Admin API if they reached it).
        tricks = [
            http.get(f"{deployed.homeserver_url}{path}/v1/server_version")
            for path in (
                "/_synapse//admin",
                "/_matrix/%2E%2E/_synapse/admin",
                "/_synapse%2Fadmin",
                "/_synapse/client/%2e%2e/admin",
                "/_Synapse/admin",
            )
        ]
    assert admin.status_code in (403, 404) and register.status_code in (403, 404)
    assert admin.json()["errcode"] == "M_UNRECOGNIZED"
    assert admin.headers["access-control-allow-origin"] == "*"
    assert [r.status_code for r in tricks] == [404] * len(tricks)
    assert not any("server_version" in r.text for r in tricks)
    for port in (8008, 9000, 5432):
        with socket.socket() as sock:
            sock.settimeout(3)
            assert sock.connect_ex((deployed.address, port)) != 0, (
                f"port {port} is open to the outside"
            )


def _raw_https(deployed: Deployed, name: str, request: bytes, context: ssl.SSLContext) -> bytes:
    """What the proxy answers `request`, sent as written (no client would send it so)."""
    with (
        socket.create_connection((deployed.address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(request)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


def test_the_proxy_answers_in_matrix_words_and_only_for_the_sites_names(
    deployed: Deployed,
) -> None:
    host = deployed.site.config.homeserver.host
    # A request line nginx cannot read (a bare "%" in a media file's name): nginx's own
    # 400, as JSON a client parses, not its HTML page (it had been a 500).
    request = (
        b"GET /_matrix/client/v1/media/download/x/y/100%.png HTTP/1.1\r\n"
        b"Host: " + host.encode() + b"\r\nConnection: close\r\n\r\n"
    )
    head, _, body = _raw_https(deployed, host, request, trusting(deployed.trust)).partition(
        b"\r\n\r\n"
    )
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"access-control-allow-origin: *" in head.lower(), head
    assert json.loads(body)["errcode"] == "M_UNKNOWN"

    # A browser's preflight is answered by the proxy with Synapse's own CORS headers.
    with https(deployed.trust) as http:
        versions = http.get(f"{deployed.homeserver_url}/_matrix/client/versions")
        preflight = _preflight(http, f"{deployed.homeserver_url}/_matrix/client/v3/sync")
    assert preflight.status_code == 204, preflight.text
    for header in ("allow-origin", "allow-methods", "allow-headers"):
        name = f"access-control-{header}"
        assert preflight.headers.get(name) == versions.headers[name], name

    # A Host naming none of the site's names, over a connection to one of them: 421.
    stranger = (
        b"GET /_matrix/client/versions HTTP/1.1\r\n"
        b"Host: stranger.example\r\nConnection: close\r\n\r\n"
    )
    misdirected = _raw_https(deployed, host, stranger, trusting(deployed.trust))
    assert misdirected.startswith(b"HTTP/1.1 421 "), misdirected[:200]

    # A name the site does not serve gets no certificate and no answer.
    anyone = ssl.create_default_context()
    anyone.check_hostname = False
    anyone.verify_mode = ssl.CERT_NONE
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        _raw_https(deployed, "stranger.example", request, anyone)


def test_second_deploy_changes_nothing(deployed: Deployed) -> None:
    again = wmx("deploy", site=deployed.site.paths.root)
    assert _changed(again.stdout) == 0, again.stdout
    # Nothing changed, so every component was only verified (docs/deploy.md) …
    plan = next(
        line for line in again.stdout.splitlines() if line.startswith(f"  {deployed.host}:")
    )
    assert plan.startswith(f"  {deployed.host}: verify base, postgresql"), plan
    assert "converge" not in plan, plan
    diff = wmx("diff", site=deployed.site.paths.root)
    assert "No changes against the last deploy" in diff.stdout
    # … and converging everything again changes nothing either: the roles are idempotent.
    full = wmx("deploy", "--full", site=deployed.site.paths.root)
    assert _changed(full.stdout) == 0, full.stdout


def test_a_hand_edit_on_the_host_is_put_back_by_a_plain_deploy(deployed: Deployed) -> None:
    """A file wmx manages, edited over SSH, is seen by the next plain `wmx deploy`: its
    component converges again and the rendering is back (wmx.ops.drift); the deploy
    after that only verifies again."""
    root = deployed.site.paths.root
    manifest = json.loads(
        (deployed.site.paths.build / deployed.host / ".wmx" / "manifest.json").read_text()
    )
    entry = next(e for e in manifest if e["component"] == "element" and not e["secret"])
    dest, role = entry["dest"], entry["component"]
    deployed.lab.run(deployed.host, ["sh", "-c", 'echo "/* by hand */" >> "$1"', "sh", dest])
    again = wmx("deploy", site=root)
    assert f"{role} converges again: edited or removed on the host" in again.stdout, again.stdout
    assert dest in again.stdout, again.stdout
    digest = deployed.lab.run(deployed.host, ["sha256sum", "--", dest]).stdout.split()[0]
    assert digest == entry["sha256"]
    third = wmx("deploy", site=root)
    assert _changed(third.stdout) == 0, third.stdout
    assert "converge" not in next(
        line for line in third.stdout.splitlines() if line.startswith(f"  {deployed.host}:")
    ), third.stdout


def test_a_deploy_of_an_older_synapse_is_refused_before_anything_changes(
    deployed: Deployed,
) -> None:
    """`wmx config set synapse.version OLDER` and `wmx deploy` installed the older release
    and restarted Synapse on a database the newer one had used. The synapse role refuses
    it before the release is downloaded; with wmx.yaml put back, a deploy changes nothing."""
    root = deployed.site.paths.root
    config = root / "wmx.yaml"
    before = config.read_bytes()
    link = ["readlink", "-f", "/opt/synapse/current"]
    running = deployed.lab.run(deployed.host, link).stdout.strip()
    older = "1.100.0"
    try:
        wmx("config", "set", "synapse.version", older, site=root)
        refused = wmx("deploy", site=root, check=False)
    finally:
        config.write_bytes(before)
    said = " ".join((refused.stdout + refused.stderr).replace("│", " ").split())
    assert refused.returncode == 1, said
    version = running.rsplit("/", 1)[-1]
    runs = f"this host runs Synapse {version} and wmx.yaml's synapse.version"
    assert f"{runs} asks for the older {older}" in said
    assert deployed.lab.run(deployed.host, link).stdout.strip() == running
    venv = deployed.lab.run(
        deployed.host, ["test", "-e", f"/opt/synapse/venvs/{older}"], check=False
    )
    assert venv.returncode == 1, "the older release was downloaded"
    assert _changed(wmx("deploy", site=root).stdout) == 0
    assert _versions_ok(deployed)


def _versions_ok(deployed: Deployed) -> bool:
    with https(deployed.trust) as http:
        return http.get(f"{deployed.homeserver_url}/_matrix/client/versions").status_code == 200


def _active(deployed: Deployed, unit: str) -> bool:
    result = deployed.lab.run(deployed.host, ["systemctl", "is-active", unit], check=False)
    return result.stdout.strip() == "active"


def test_synapse_comes_back_after_being_killed(deployed: Deployed) -> None:
    before = deployed.lab.run(
        deployed.host, ["systemctl", "show", "-p", "MainPID", "matrix-synapse"]
    ).stdout
    # In a lab host systemd cannot signal a cgroup as a whole (the machine's hybrid
    # cgroup tree) and says so in its exit status; the main process is killed all the same.
    deployed.lab.run(
        deployed.host, ["systemctl", "kill", "-s", "KILL", "matrix-synapse"], check=False
    )
    wait_until(
        lambda: (
            deployed.lab.run(
                deployed.host, ["systemctl", "show", "-p", "MainPID", "matrix-synapse"]
            ).stdout
            not in (before, "MainPID=0\n")
        ),
        "a new Synapse process",
    )
    wait_until(lambda: _versions_ok(deployed), "Synapse to answer again after SIGKILL")


def test_every_service_is_up_after_a_reboot(deployed: Deployed) -> None:
    deployed.lab.reboot(deployed.host)
    for unit in ("postgresql", "matrix-synapse", "nginx", "nftables"):
        wait_until(partial(_active, deployed, unit), f"{unit} after reboot", timeout=180)
    wait_until(lambda: _versions_ok(deployed), "HTTPS after reboot", timeout=180)


def test_no_secret_leaks_into_output_artifacts_or_process_arguments(deployed: Deployed) -> None:
    secrets = deployed.site.secrets.values()
    places: dict[str, str] = {"console output": "\n".join(TRANSCRIPT)}
    runs = deployed.site.paths.runs
    for path in runs.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_text(errors="replace")
    places["host processes"] = deployed.lab.run(deployed.host, ["ps", "-eo", "args"]).stdout
    places["machine processes"] = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True
    ).stdout
    places["host journal"] = deployed.lab.run(
        deployed.host, ["journalctl", "--no-pager", "-o", "cat"]
    ).stdout
    assert len(places) > 4 and any(Path(p).name == "stdout" for p in places)
    for where, text in places.items():
        for value in secrets:
            assert value not in text, f"a generated secret appears in {where}"


def test_render_is_deterministic(deployed: Deployed) -> None:
    root = deployed.site.paths.root
    wmx("render", site=root)
    first = {p: p.read_bytes() for p in (root / "build").rglob("*") if p.is_file()}
    wmx("render", site=root)
    second = {p: p.read_bytes() for p in (root / "build").rglob("*") if p.is_file()}
    assert first == second
    manifest = json.loads((root / "build" / deployed.host / ".wmx" / "manifest.json").read_text())
    assert any(e["dest"] == "/etc/matrix-synapse/homeserver.yaml" for e in manifest)
