"""What the world must not reach or do: the Admin API and metrics from outside, and
registration without verification or tokens (spam accounts, then a blocklisted server)."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

from wmx.doctor.checks import DEPLOY, Check, failed, passed
from wmx.doctor.fetch import FetchError, request
from wmx.doctor.outside import Outside

# Stages that verify nothing about who registers.
UNVERIFIED_STAGES = {"m.login.dummy", "m.login.terms", "m.login.recaptcha"}


def registration_check(target: Outside, base: str) -> Check:
    """Ask the client API for its registration flows, as a spammer's script would."""
    title = "Registration needs verification or a token"
    try:
        response = request(
            f"{base}/_matrix/client/v3/register?kind=user",
            tls=target.tls,
            resolve=target.resolve,
            method="POST",
            body=b"{}",
            headers={"Content-Type": "application/json"},
            timeout=target.timeout,
        )
    except FetchError as exc:
        return failed("registration", title, str(exc), f"check the client API: {DEPLOY}", "inside")
    try:
        document = json.loads(response.body)
    except ValueError:
        document = {}
    if response.status == 403:
        return passed("registration", title, "registration is closed", "inside")
    flows = document.get("flows") if isinstance(document, dict) else None
    if response.status != 401 or not isinstance(flows, list):
        return failed(
            "registration",
            title,
            f"unexpected answer (status {response.status})",
            f"check Synapse behind {base}: {DEPLOY}",
            "inside",
        )
    stages = [[str(s) for s in flow.get("stages", [])] for flow in flows if isinstance(flow, dict)]
    open_flows = [s for s in stages if set(s) <= UNVERIFIED_STAGES]
    if open_flows:
        shown = " + ".join(open_flows[0]) or "no stage"
        return failed(
            "registration",
            title,
            f"anyone can register with {shown} (enable_registration without verification)",
            "set synapse.registration to token or closed (or open with e-mail verification) "
            f"in wmx.yaml and {DEPLOY}; an edit on the host is undone by the next deploy",
            side="inside",
        )
    shown = "; ".join(" + ".join(s) for s in stages)
    return passed("registration", title, f"flows: {shown}", "inside")


def _admin_paths_hidden(target: Outside, base: str) -> tuple[list[str], bool]:
    """What of the Admin API and metrics answers through the proxy, and whether the
    proxy answered at all (a proxy that is down hides them too, and says nothing)."""
    exposed, answered = [], False
    for path in ("/_synapse/admin/v1/server_version", "/_synapse/metrics"):
        try:
            response = request(
                f"{base}{path}", tls=target.tls, resolve=target.resolve, timeout=target.timeout
            )
        except FetchError:
            continue
        answered = True
        # nginx answers 404 itself, as the Matrix error M_UNRECOGNIZED (templates/nginx),
        # which is also what Synapse says of a path it does not serve: nothing there either
        # way. Any other answer of Synapse's (200, 401 M_MISSING_TOKEN from the Admin API,
        # another errcode) means the path reaches a Synapse that serves it.
        errcode = _errcode(response.body)
        if response.status == 404 and errcode in (None, "M_UNRECOGNIZED"):
            continue
        if response.status in (200, 401) or errcode is not None:
            by = ", answered by Synapse" if errcode is not None else ""
            exposed.append(f"{base}{path} (status {response.status}{by})")
    return exposed, answered


def _errcode(body: bytes) -> str | None:
    """The Matrix errcode of a JSON error body, None for anything else."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    errcode = document.get("errcode") if isinstance(document, dict) else None
    return errcode if isinstance(errcode, str) else None


# What each kind of private port answers when its service is really there: a connection
# alone proves little (a middlebox may accept any connection on the way).
HTTP_PROBES = {"metrics": b"GET /metrics HTTP/1.0\r\n\r\n", "http": b"GET /health HTTP/1.0\r\n\r\n"}
POSTGRES_SSL_REQUEST = bytes.fromhex("0000000804d2162f")


def _read(sock: socket.socket, limit: int = 8192) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data and len(data) > data.index(b"\r\n\r\n") + 4:
            break
    return data


def service_answers(address: str, port: int, kind: str, timeout: float = 3.0) -> bool:
    """Whether the service (`metrics`, `http` or `postgres`) itself answers on address:port:
    Prometheus text from /metrics, Synapse's "OK" from /health, PostgreSQL's answer to an
    SSLRequest. A middlebox that accepts the connection, or answers HTTP with its own
    error, does not count."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            if kind == "postgres":
                sock.sendall(POSTGRES_SSL_REQUEST)
                return sock.recv(1) in (b"S", b"N")
            sock.sendall(HTTP_PROBES[kind])
            answer = _read(sock)
    except OSError:
        return False
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or head.split(b" ", 2)[1:2] != [b"200"]:
        return False
    if kind == "metrics":
        return body.startswith(b"#") or b"# TYPE" in body or b"# HELP" in body
    return body.strip() == b"OK"


def exposure_check(
    target: Outside, base: str, probes: list[tuple[str, str, int, str]], timeout: float = 3.0
) -> Check:
    """The Admin API and metrics paths through the proxy, and every port meant for the
    site's own hosts (`probes`: what, address, port, kind of service) asked from this
    machine, outside: a port counts as reachable when its service answers."""
    title = "Admin API and metrics not reachable from outside"
    exposed, answered = _admin_paths_hidden(target, base)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda p: service_answers(p[1], p[2], p[3], timeout), probes))
    exposed += [
        f"{what} ({address}:{port})"
        for (what, address, port, _), up in zip(probes, answers, strict=True)
        if up
    ]
    if exposed:
        return failed(
            "admin-api-hidden",
            title,
            "reachable: " + ", ".join(exposed),
            "wmx's nginx answers 404 under /_synapse/admin and /_synapse/metrics and its "
            f"firewall opens these ports to the site's own hosts only: {DEPLOY}",
            side="inside",
        )
    through = (
        "Synapse does not answer /_synapse/admin or /_synapse/metrics through the proxy"
        if answered
        else f"the proxy at {base} did not answer (see the outside checks), so nothing "
        "reached Synapse through it"
    )
    return passed(
        "admin-api-hidden", title, f"{through}; {len(probes)} private ports do not answer", "inside"
    )
