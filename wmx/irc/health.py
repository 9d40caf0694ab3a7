"""How the bridge is doing: Synapse's ping of it, and its networks, connections and
plumbed channels against wmx.yaml (`wmx irc status`)."""

from __future__ import annotations

import time
from typing import Any

from wmx.admin.http import AdminHttp, endpoint
from wmx.errors import WmxError
from wmx.irc.manage import BridgeManager
from wmx.irc.state import ServerEntry


def ping(base_url: str, as_token: str, appservice_id: str) -> tuple[bool, str]:
    """Ask Synapse to ping the bridge (Synapse → bridge → Synapse, as for events):
    (up, detail). The appservice token authenticates the request; it never leaves the
    tunnel and is never shown."""
    http = AdminHttp(base_url, as_token, max_retries=0, timeout=20)
    try:
        data = http.post(
            endpoint("/_matrix/client/v1/appservice/{}/ping", appservice_id),
            json={"transaction_id": f"wmx-{int(time.time())}"},
        )
    except WmxError as exc:
        return False, str(exc)
    finally:
        http.close()
    return True, f"answered in {data.get('duration_ms', '?')} ms"


def bridge_health(manager: BridgeManager) -> dict[str, Any]:
    """`wmx irc status`: Synapse's ping of the bridge (`up`, `ping`), then its status."""
    token = manager.site.secrets.irc_bridge_as_token
    up, detail = ping(manager.bot.http.base_url, token, manager.view.appservice_id)
    return {"up": up, "ping": detail, **bridge_status(manager)}


def bridge_status(manager: BridgeManager) -> dict[str, Any]:
    """The bridge as `wmx irc status` shows it: networks, connections, plumbs."""
    state = manager.bot.state()
    networks = []
    have = state.networks
    for network in manager.site.config.irc_bridge.networks:
        servers = [ServerEntry(s.host, s.port, s.tls) for s in network.servers]
        relay = state.network_room(manager.me, network.name)
        plumbed = state.plumbed(relay) if relay else {}
        networks.append(
            {
                "name": network.name,
                "servers": [str(s) for s in servers],
                "sasl": network.sasl,
                "in_bridge": network.name in have,
                "matches": have.get(network.name) == servers,
                "connections": len(state.connections(network.name)),
                "relay": {
                    "nick": (relay.settings.get("nick") if relay else None)
                    or manager.view.relay_nick,
                    "connected": bool(relay and relay.connected),
                },
                "plumbed": [
                    {"channel": name, "room_id": room.room_id}
                    for name, room in sorted(plumbed.items())
                ],
            }
        )
    extra = sorted(set(have) - {n.name for n in manager.site.config.irc_bridge.networks})
    return {
        "bot": manager.view.bot_user_id,
        "owner": state.owner,
        "allowed": state.allow,
        "networks": networks,
        "not_in_wmx_yaml": extra,
        "users": sorted({r.user_id for r in state.live() if r.user_id}),
    }
