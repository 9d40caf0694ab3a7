"""The chat experience on a deployed lab site, checked as its users would: Element Web's
host, config.json and headers, the Element release switch, rollback and checksum refusal
(with the lab's stand-in release archive), link previews (and the SSRF guard), TURN for
calls, and message retention. A real web client in a real browser is
tests/e2e/test_web_client.py (Cinny).

Uses the shared deployed site (Element and TURN are on by default). Set
WMX_E2E_CHAT_SITE=/path/to/site to run against another, already deployed site instead,
and WMX_E2E_PAGE_HOST=labN to serve the preview page from an existing lab host.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_tool
from tests.e2e.clients import create_account, https, wait_until
from tests.e2e.conftest import Deployed, wmx
from tests.e2e.settings import current_settings, set_settings
from tests.e2e.turn import TurnError, allocate_over_tls
from wmx.components.element import ELEMENT_CURRENT_LINK, ELEMENT_PREVIOUS_LINK
from wmx.lab import Lab, LabHost
from wmx.lab.addressing import GATEWAY, MAX_HOSTS, host_index
from wmx.lab.element import write_standin_archive
from wmx.site import load_site

PAGE_PORT = 8099
PAGE_TITLE = "A page on another lab host"


@pytest.fixture(scope="module")
def chat(request: pytest.FixtureRequest) -> Deployed:
    other = os.environ.get("WMX_E2E_CHAT_SITE")
    if not other:
        deployed: Deployed = request.getfixturevalue("deployed")
        return deployed
    done = subprocess.CompletedProcess[str]([], 0, "", "")
    return Deployed(site=load_site(Path(other)), lab=Lab(), first_deploy=done)


def _root(chat: Deployed) -> Path:
    return chat.site.paths.root


def _client_url(chat: Deployed) -> str:
    return f"https://{chat.site.config.web_client.host}"


def _deployed_changes(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"Deployed: (\d+) task\(s\) changed", result.stdout)
    assert match, result.stdout + result.stderr
    return int(match.group(1))


# --- Element Web: its host, config.json and headers ---------------------------------------

SECURITY_HEADERS = {
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "content-security-policy": "frame-ancestors 'self'",
}


def test_client_host_serves_the_sites_config_with_elements_headers(chat: Deployed) -> None:
    config = chat.site.config
    with https(chat.trust) as http:
        served = http.get(f"{_client_url(chat)}/config.json")
        by_host = http.get(f"{_client_url(chat)}/config.{config.web_client.host}.json")
        index = http.get(f"{_client_url(chat)}/")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    element = served.json()
    assert element == by_host.json()
    assert element["default_server_config"]["m.homeserver"] == {
        "base_url": chat.homeserver_url,
        "server_name": config.server_name,
    }
    assert element["brand"] == config.element.brand
    assert element["room_directory"] == {"servers": [config.server_name]}
    assert element["disable_guests"] is True  # guest access is off by default
    # No integration manager (scalar.vector.im) unless the site turns it on.
    assert element["integrations_ui_url"] == "" and element["integrations_widgets_urls"] == []
    assert "jitsi" not in element and "element_call" not in element
    for response in (served, index):
        assert response.headers["cache-control"] == "no-cache"
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
        assert "max-age=" in response.headers["strict-transport-security"]
    assert index.status_code == 200 and "<html" in index.text


def test_web_client_name_is_in_the_certificate_and_well_known_allows_browsers(
    chat: Deployed,
) -> None:
    config = chat.site.config
    with https(chat.trust) as http:
        discovery = http.get(
            f"https://{config.server_name}/.well-known/matrix/client",
            headers={"Origin": _client_url(chat)},
        )
    assert discovery.headers["access-control-allow-origin"] == "*"
    assert discovery.json()["m.homeserver"]["base_url"] == chat.homeserver_url


# --- the Element release: install from a local archive, switch, roll back -------------------


def _link(chat: Deployed, link: str) -> str:
    return chat.lab.run(chat.host, ["readlink", link]).stdout.strip()


def test_element_release_switch_rollback_and_checksum_refusal(
    chat: Deployed, tmp_path: Path
) -> None:
    before = current_settings(
        chat, ["web_client.archive", "web_client.sha256", "web_client.version"]
    )
    running = _link(chat, ELEMENT_CURRENT_LINK)
    newer = write_standin_archive(tmp_path, "0.1.9-wmxlab", note="the newer release")
    version_url = f"{_client_url(chat)}/version"
    try:
        set_settings(
            chat,
            {
                "web_client.archive": str(newer),
                "web_client.version": None,
                "web_client.sha256": None,
            },
        )
        wmx("deploy", "--only", "element", site=_root(chat))
        with https(chat.trust) as http:
            assert http.get(version_url).text.strip() == "0.1.9-wmxlab"
            assert "the newer release" in http.get(f"{_client_url(chat)}/").text
        assert _link(chat, ELEMENT_CURRENT_LINK).rsplit("/", 1)[1].startswith("0.1.9-wmxlab-")
        assert _link(chat, ELEMENT_PREVIOUS_LINK) == running

        # Rollback: back to the release before, still unpacked on the host.
        set_settings(chat, before)
        rollback = wmx("deploy", "--only", "element", site=_root(chat))
        changed = [ln for ln in rollback.stdout.splitlines() if ln.strip().startswith("changed")]
        assert not [ln for ln in changed if "Unpack" in ln or "Copy" in ln], changed
        assert _deployed_changes(rollback) == 2  # the previous link, then the current one
        assert _link(chat, ELEMENT_CURRENT_LINK) == running
        with https(chat.trust) as http:
            assert http.get(version_url).text.strip() != "0.1.9-wmxlab"

        # A checksum that does not match stops the deploy; the running release stays.
        set_settings(chat, {"web_client.archive": str(newer), "web_client.sha256": "0" * 64})
        refused = wmx("deploy", "--only", "element", site=_root(chat), check=False)
        assert refused.returncode != 0
        message = " ".join(refused.stderr.split())  # the console wraps long lines
        assert "SHA-256" in message and "the running Element Web stays as it is" in message
        assert _link(chat, ELEMENT_CURRENT_LINK) == running
    finally:
        set_settings(chat, before)
        wmx("deploy", "--only", "element", site=_root(chat))
    assert _link(chat, ELEMENT_CURRENT_LINK) == running


# --- link previews and retention (settings changed for this module, then put back) ---------

CHANGED = {
    "synapse.url_previews.enabled": True,
    "synapse.retention.enabled": True,
    # A room may keep its events for as little as a second; purge every few seconds.
    "synapse.retention.allowed_min_lifetime": "1s",
    "synapse.retention.purge_interval": "5s",
}


@contextmanager
def _page_host(lab: Lab) -> Iterator[LabHost]:
    """A lab host other than the site's to serve a page from: a fresh one (no firewall),
    removed afterwards, unless WMX_E2E_PAGE_HOST names one."""
    named = os.environ.get("WMX_E2E_PAGE_HOST")
    if named:
        yield lab.host(named)
        return
    taken = {host_index(h.name) for h in lab.hosts()}
    index = next(i for i in range(2, MAX_HOSTS + 1) if i not in taken)
    host = lab.up(index)[-1]
    try:
        yield host
    finally:
        lab.remove(host)


@pytest.fixture(scope="module")
def page_and_features(chat: Deployed) -> Iterator[LabHost]:
    with _page_host(chat.lab) as page_host:
        yield from _serving_page_with_features(chat, page_host)


def _serving_page_with_features(chat: Deployed, page_host: LabHost) -> Iterator[LabHost]:
    lab = chat.lab
    page = (
        f"<html><head><title>{PAGE_TITLE}</title>"
        f'<meta property="og:title" content="{PAGE_TITLE}">'
        '<meta property="og:description" content="Served for the preview test">'
        "</head><body>Hello</body></html>"
    )
    lab.run(page_host, ["mkdir", "-p", "/run/wmx-preview"])
    lab.run(page_host, ["sh", "-c", "cat > /run/wmx-preview/page.html"], input=page)
    lab.run(page_host, ["systemctl", "stop", "wmx-preview-page.service"], check=False)
    lab.run(
        page_host,
        ["systemd-run", "--unit=wmx-preview-page", "--property=DynamicUser=yes",
         "python3", "-m", "http.server", str(PAGE_PORT), "--bind", page_host.address,
         "--directory", "/run/wmx-preview"],
    )  # fmt: skip
    keys = [*CHANGED, "synapse.url_previews.allow_ranges"]
    before = current_settings(chat, keys)
    try:
        # The lab is one private network: only the page's host is let through.
        set_settings(
            chat, {**CHANGED, "synapse.url_previews.allow_ranges": [f"{page_host.address}/32"]}
        )
        wmx("deploy", "--only", "synapse", site=_root(chat))
        yield page_host
    finally:
        set_settings(chat, before)
        wmx("deploy", "--only", "synapse", site=_root(chat))
        lab.run(page_host, ["systemctl", "stop", "wmx-preview-page.service"], check=False)


def _preview(http: httpx.Client, chat: Deployed, token: str, url: str) -> httpx.Response:
    return http.get(
        f"{chat.homeserver_url}/_matrix/client/v1/media/preview_url",
        params={"url": url},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_link_preview_works_and_private_addresses_are_refused(
    chat: Deployed, page_and_features: LabHost
) -> None:
    token = create_account(chat.site, "preview-user", unique=True).access_token
    with https(chat.trust) as http:
        # A fresh query string: Synapse caches previews by URL.
        url = f"http://{page_and_features.address}:{PAGE_PORT}/page.html?{secrets.token_hex(4)}"
        page = _preview(http, chat, token, url)
        assert page.status_code == 200, page.text
        assert page.json()["og:title"] == PAGE_TITLE
        # Server-side request forgery: the homeserver's own loopback listener, and the
        # lab's gateway (a private address outside allow_ranges), are never fetched.
        for private in ("http://127.0.0.1:8008/health", f"http://{GATEWAY}/"):
            refused = _preview(http, chat, token, private)
            assert refused.status_code == 403, (private, refused.text)
            assert "IP address blocked" in refused.json()["error"]


def test_short_room_retention_purges_old_events(chat: Deployed, page_and_features: LabHost) -> None:
    token = create_account(chat.site, "retention-user", unique=True).access_token
    api = f"{chat.homeserver_url}/_matrix/client/v3"
    auth = {"Authorization": f"Bearer {token}"}

    def stored(event_ids: list[str]) -> set[str]:
        ids = ",".join(f"'{e}'" for e in event_ids)
        out = chat.lab.run(
            chat.host,
            ["runuser", "-u", "postgres", "--", "psql", "-d", "synapse", "-tAc",
             f"SELECT event_id FROM events WHERE event_id IN ({ids})"],
        ).stdout  # fmt: skip
        return set(out.split())

    with https(chat.trust) as http:
        room = http.post(
            f"{api}/createRoom",
            headers=auth,
            json={
                "name": "Short memory",
                "initial_state": [
                    {
                        "type": "m.room.retention",
                        "state_key": "",
                        "content": {"max_lifetime": 10000},
                    }
                ],
            },
        ).json()["room_id"]
        old = [
            http.put(
                f"{api}/rooms/{room}/send/m.room.message/old{i}",
                headers=auth,
                json={"msgtype": "m.text", "body": f"soon forgotten {i}"},
            ).json()["event_id"]
            for i in range(3)
        ]
        # They were stored: asked well before they expire (10 s), as the purge job
        # (every 5 s) may take them any time after.
        assert stored(old) == set(old)
        # Synapse never purges a room's latest event: send one more.
        http.put(
            f"{api}/rooms/{room}/send/m.room.message/new",
            headers=auth,
            json={"msgtype": "m.text", "body": "the latest"},
        ).raise_for_status()

    wait_until(lambda: not stored(old), "the purge job to delete the expired events", 90, 3)


# --- calls: TURN ------------------------------------------------------------------------


def _uclient(chat: Deployed, credentials: dict[str, Any], *extra: str) -> str:
    # turnutils_uclient takes the (short-lived, per-user) TURN password only as an
    # argument; it expires after turn.user_lifetime.
    argv = ["turnutils_uclient", "-v", "-n", "1", "-m", "1",
            "-u", credentials["username"], "-w", credentials["password"], *extra]  # fmt: skip
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        # With a peer that never answers, the client waits for its echo: what it printed
        # until then is what counts. SIGTERM lets it flush its output.
        process.terminate()
        output, _ = process.communicate(timeout=10)
    return output


def test_turn_allocation_with_credentials_from_the_homeserver(chat: Deployed) -> None:
    require_tool("turnutils_uclient", hint="Debian's coturn; scripts/setup installs it")
    token = create_account(chat.site, "caller", unique=True).access_token
    with https(chat.trust) as http:
        response = http.get(
            f"{chat.homeserver_url}/_matrix/client/v3/voip/turnServer",
            headers={"Authorization": f"Bearer {token}"},
        )
    credentials = response.json()
    name = chat.site.config.homeserver.host
    assert credentials["uris"] == [
        f"turn:{name}:3478?transport=udp",
        f"turn:{name}:3478?transport=tcp",
        f"turns:{name}:5349?transport=tcp",
    ]
    assert credentials["ttl"] == 3600
    address = chat.address
    # UDP, relaying between two allocations on this server (its own address is allowed).
    udp = _uclient(chat, credentials, "-y", address)
    assert "Received relay addr" in udp or "tot_recv_msgs=2" in udp, udp
    # Relaying into private networks is refused (denied-peer-ip).
    private = _uclient(chat, credentials, "-e", str(GATEWAY), address)
    assert "403 (Forbidden IP)" in private, private
    # TURN over TLS on 5349, with the site's certificate for the TURN name.
    tls = allocate_over_tls(
        address, 5349, name, chat.trust, credentials["username"], credentials["password"]
    )
    assert tls.relay_address == address and tls.tls_version in ("TLSv1.2", "TLSv1.3")
    # Credentials that Synapse did not sign are refused.
    with pytest.raises(TurnError, match="401"):
        allocate_over_tls(address, 5349, name, chat.trust, credentials["username"], "forged")
