"""nginx as rendered for the core layouts (tests/unit/render_sites.py): delegation,
proxying, ACME on port 80, TLS settings, the renewal hook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.render_sites import BASE_CONFIG, make_site, synapse_config
from tests.unit.render_sites import files_by_dest as _files
from wmx.components.nginx import MatrixError
from wmx.render import RenderedFile
from wmx.site import Site
from wmx.site.topology import HostView

# --- nginx --------------------------------------------------------------------------------


def _server_blocks(conf: str) -> dict[str, str]:
    blocks = re.split(r"^server \{$", conf, flags=re.M)[1:]
    names = [re.search(r"server_name (\S+);", b) for b in blocks]
    return {name.group(1): b for name, b in zip(names, blocks, strict=True) if name}


def _well_known(block: str, path: str, files: dict[str, RenderedFile]) -> object:
    """The document nginx serves at `path`: a rendered JSON file (never an inline string
    nginx would parse), with the headers browsers need."""
    match = re.search(rf"location = {re.escape(path)} \{{(.*?)alias (\S+);", block, flags=re.S)
    assert match, f"{path} is not served"
    assert "default_type application/json;" in match.group(1)
    assert 'add_header Access-Control-Allow-Origin "*" always;' in match.group(1)
    assert "Strict-Transport-Security" in match.group(1), "a location's add_header drops HSTS"
    # A browser's CORS preflight needs a 2xx answer with the methods and headers allowed
    # (the spec: every endpoint supports OPTIONS); nginx's static files answer 405.
    assert 'add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;' in match.group(1)
    assert "add_header Access-Control-Allow-Headers " in match.group(1)
    assert re.search(r"if \(\$request_method = OPTIONS\) \{\s*return 204;\s*\}", match.group(1))
    return json.loads(files[match.group(2)].content)


def test_nginx_serves_delegation_and_proxies_matrix(one_host: Site) -> None:
    files = _files(one_host, "hs1")
    blocks = _server_blocks(files["/etc/nginx/sites-available/wmx-tls.conf"].content)
    assert set(blocks) == {"example.test", "matrix.example.test"}
    apex, homeserver = blocks["example.test"], blocks["matrix.example.test"]
    assert _well_known(apex, "/.well-known/matrix/server", files) == {
        "m.server": "matrix.example.test:443"
    }
    assert _well_known(apex, "/.well-known/matrix/client", files) == {
        "m.homeserver": {"base_url": "https://matrix.example.test"}
    }
    for block in blocks.values():
        assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in block
        assert "ssl_certificate /etc/letsencrypt/live/wmx/fullchain.pem;" in block
        assert "wmx-listen-8448" not in block
        # The listen lines and HTTP/2 follow the host's nginx (wmx/debian.py).
        assert "include /etc/nginx/snippets/wmx-listen-443.conf;" in block
        assert "include /etc/nginx/snippets/wmx-http2.conf;" in block
        assert not re.search(r"^\s*listen 443", block, flags=re.M)
    assert "location ~ ^(/_matrix|/_synapse/client) {" in homeserver
    assert "proxy_pass http://127.0.0.1:8008;" in homeserver
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "Host $host"):
        assert f"proxy_set_header {header};" in homeserver
    assert re.search(r"location \^~ /_synapse/admin \{\s*return 404;", homeserver)
    assert "client_max_body_size 51200k;" in homeserver
    assert "proxy_pass" not in apex


def gzip_types(block: str) -> set[str]:
    """The types a server block compresses, from its own directives (not a location's):
    for every client, behind a proxy or not, with Vary for the caches between."""
    own = [line.strip() for line in block.splitlines() if re.match(r"^    [a-z]", line)]
    assert {"gzip on;", "gzip_vary on;", "gzip_proxied any;"} <= set(own), own
    (types,) = [line for line in own if line.startswith("gzip_types ")]
    return set(types.removeprefix("gzip_types ").rstrip(";").split())


def test_synapse_json_is_compressed(one_host: Site) -> None:
    """Synapse's listener does not compress (compress: false, left to the proxy) and
    Debian's nginx compresses text/html only: a client's /sync came uncompressed."""
    files = _files(one_host, "hs1")
    conf = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert gzip_types(_server_blocks(conf)["matrix.example.test"]) == {"application/json"}
    assert synapse_config(files)["listeners"][0]["resources"][0]["compress"] is False


def test_a_long_poll_outlasts_nginxs_default_timeout(one_host: Site) -> None:
    """nginx's default 60 s without a byte from Synapse cut a /sync long poll of 75 s, a
    first sync or a large join short with a 504 (seen on the lab)."""
    conf = _files(one_host, "hs1")["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "proxy_read_timeout 180s;" in _server_blocks(conf)["matrix.example.test"]


def test_nginx_of_three_hosts(three_hosts: Site) -> None:
    files = _files(three_hosts, "proxy1")
    blocks = _server_blocks(files["/etc/nginx/sites-available/wmx-tls.conf"].content)
    homeserver = blocks["matrix.example.test"]
    assert "proxy_pass http://10.0.0.12:8008;" in homeserver
    assert "include /etc/nginx/snippets/wmx-listen-8448.conf;" in homeserver
    assert "client_max_body_size 102400k;" in homeserver
    assert "wmx-listen-8448" not in blocks["example.test"]
    server = _well_known(blocks["example.test"], "/.well-known/matrix/server", files)
    assert server == {"m.server": "matrix.example.test:8448"}


def test_port_80_serves_acme_and_redirects(one_host: Site) -> None:
    conf = _files(one_host, "hs1")["/etc/nginx/sites-available/wmx-acme.conf"].content
    assert "listen 80 default_server;" in conf
    assert re.search(
        r"location \^~ /\.well-known/acme-challenge/ \{\s*root /var/www/wmx-acme;", conf
    )
    assert "return 301 https://$host$request_uri;" in conf


def test_tls_settings_are_mozilla_intermediate(one_host: Site) -> None:
    params = _files(one_host, "hs1")["/etc/nginx/snippets/wmx-tls-params.conf"].content
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in params
    ciphers = re.search(r"^ssl_ciphers (\S+);$", params, re.M)
    assert ciphers
    assert ciphers.group(1).split(":") == [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
    ]  # fmt: skip
    assert "ssl_prefer_server_ciphers off;" in params


def test_renewal_hook_reloads_nginx(one_host: Site) -> None:
    hook = _files(one_host, "hs1")["/etc/letsencrypt/renewal-hooks/deploy/wmx-reload-nginx"]
    assert hook.mode == "0755"
    assert hook.content.startswith("#!/bin/sh\n")
    assert "systemctl reload nginx" in hook.content


# --- what nginx answers itself on the homeserver's name -----------------------------------

_MATRIX_ERRORS = {400, 404, 413, 414, 494, 500, 502, 503, 504}
_ANSWERED_AS = {494: 431}  # nginx's own "header too large", sent as HTTP's status for it


def _error_page(status: int) -> str:
    """The error_page line of `status`: a URI, never a named location, which fails (a 500
    and nginx's HTML page) for a request line nginx could not read, having no URI."""
    answered = f"={_ANSWERED_AS[status]} " if status in _ANSWERED_AS else ""
    return f"error_page {status} {answered}/_wmx/error/{status};"


def _error_pages(block: str) -> dict[int, dict[str, str]]:
    """Each status nginx itself answers with, as its error page's JSON body."""
    assert "@wmx_error" not in block
    bodies = {}
    for status in _MATRIX_ERRORS:
        assert f"    {_error_page(status)}" in block, status
        match = re.search(rf"location = /_wmx/error/{status} \{{(.*?)\n    \}}", block, flags=re.S)
        assert match, status
        location = match.group(1)
        assert "internal;" in location and "default_type application/json;" in location
        # A browser client reads the error only with CORS; the location's add_header drops
        # the server's HSTS, so it repeats it.
        assert 'add_header Access-Control-Allow-Origin "*" always;' in location
        assert "Strict-Transport-Security" in location
        sent = _ANSWERED_AS.get(status, status)
        (body,) = re.findall(rf"return {sent} '([^'$\\]*)';", location)
        bodies[status] = json.loads(body)
    return bodies


def test_nginx_answers_its_own_errors_as_matrix_json(one_host: Site) -> None:
    """An upload over the limit, the Admin API, an unknown path, Synapse down: the Matrix
    error JSON with an errcode (413 M_TOO_LARGE, as the spec says), never nginx's HTML."""
    files = _files(one_host, "hs1")
    blocks = _server_blocks(files["/etc/nginx/sites-available/wmx-tls.conf"].content)
    bodies = _error_pages(blocks["matrix.example.test"])
    assert bodies[413]["errcode"] == "M_TOO_LARGE" and "50 MiB" in bodies[413]["error"]
    assert bodies[404] == {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
    assert all(set(body) == {"errcode", "error"} for body in bodies.values())
    assert {bodies[s]["errcode"] for s in (400, 414, 494, 500, 502, 503, 504)} == {"M_UNKNOWN"}
    # The proxied location has no error_page of its own: it takes the server's, and
    # Synapse's own errors pass through (no proxy_intercept_errors).
    proxied = re.search(r"location ~ \^\(/_matrix\|/_synapse/client\) \{(.*?)\}", blocks[
        "matrix.example.test"], flags=re.S)  # fmt: skip
    assert proxied and "error_page" not in proxied.group(1)
    assert "proxy_intercept_errors" not in files["/etc/nginx/sites-available/wmx-tls.conf"].content


def test_worker_locations_keep_the_matrix_errors(tmp_path: Path) -> None:
    """A location with an error_page of its own (a worker's route, which falls back to the
    main process on 502) inherits none of the server's: it repeats the others."""
    config = {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}}
    host = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 4096)
    site = make_site(tmp_path, config, [host])
    conf = _files(site, "hs1")["/etc/nginx/sites-available/wmx-tls.conf"].content
    routes = re.findall(r"\n    location ~ (\S+) \{\n(.*?)\n    \}", conf, flags=re.S)
    workers = [body for _, body in routes if "@synapse_main" in body]
    assert workers
    for body in workers:
        for status in _MATRIX_ERRORS - {502}:
            assert _error_page(status) in body
    main = re.search(r"location @synapse_main \{(.*?)\}", conf, flags=re.S)
    assert main and "recursive_error_pages on;" in main.group(1)
    _error_pages(_server_blocks(conf)["matrix.example.test"])


def test_a_worker_that_timed_out_is_not_asked_again_of_the_main_process(tmp_path: Path) -> None:
    """Only a worker that is down (502) hands its request to the main process. One that
    timed out (504) has the request and may still carry it out: sent again to the main
    process, a POST createRoom slow with remote invites would make a second room. The
    client gets the Matrix 504 instead."""
    config = {**BASE_CONFIG, "synapse": {"workers": {"preset": "small"}}}
    host = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 4096)
    conf = _files(make_site(tmp_path, config, [host]), "hs1")[
        "/etc/nginx/sites-available/wmx-tls.conf"
    ].content
    routes = re.findall(r"\n    location ~ (\S+) \{\n(.*?)\n    \}", conf, flags=re.S)
    create_room = [body for route, body in routes if "createRoom" in route]
    assert create_room
    for body in [body for _, body in routes if "@synapse_main" in body]:
        fallbacks = re.findall(r"error_page ([\d ]+) = @synapse_main;", body)
        assert fallbacks == ["502"], fallbacks
        assert _error_page(504) in body


def test_error_bodies_are_literal_nginx_strings() -> None:
    assert MatrixError(404, "M_UNRECOGNIZED", "plain").body.startswith('{"errcode"')
    for bad in ("it's", "$host", "back\\slash"):
        with pytest.raises(ValueError, match="not a literal nginx string"):
            _ = MatrixError(400, "M_UNKNOWN", bad).body


def test_support_well_known_names_the_operators(one_host: Site) -> None:
    """`/.well-known/matrix/support` (server support information, spec v1.10): the
    operators' contacts.admin_email, with CORS like the other well-known documents."""
    files = _files(one_host, "hs1")
    blocks = _server_blocks(files["/etc/nginx/sites-available/wmx-tls.conf"].content)
    support = _well_known(blocks["example.test"], "/.well-known/matrix/support", files)
    email = one_host.config.contacts.admin_email
    assert support == {"contacts": [{"email_address": email, "role": "m.role.admin"}]}
    assert "/.well-known/matrix/support" not in blocks["matrix.example.test"]


def test_nginx_takes_what_synapse_takes(tmp_path: Path) -> None:
    """A site whose upload limit is below Synapse's own request limit (a full federation
    transaction, 200 events of 64 KiB): nginx's limit is Synapse's, so a remote server's
    large transaction is not refused with 413; Synapse refuses a larger upload itself."""
    config = {**BASE_CONFIG, "synapse": {"max_upload_size_mb": 2}}
    host = HostView("hs1", "10.213.0.11", ("database", "homeserver", "proxy"), 4096)
    site = make_site(tmp_path, config, [host])
    files = _files(site, "hs1")
    homeserver = _server_blocks(files["/etc/nginx/sites-available/wmx-tls.conf"].content)[
        "matrix.example.test"
    ]
    assert re.findall(r"client_max_body_size (\S+);", homeserver) == ["12800k"]
    assert "12.5 MiB" in _error_pages(homeserver)[413]["error"]
    synapse = synapse_config(files)
    assert synapse["max_upload_size"] == "2M"


def test_names_the_site_does_not_serve_get_no_handshake(one_host: Site) -> None:
    """A stranger's name pointing here, or none (an address), is refused at the TLS
    handshake by the default server, rather than answered by the site's first block."""
    conf = _files(one_host, "hs1")["/etc/nginx/sites-available/wmx-tls.conf"].content
    first = re.split(r"^server \{$", conf, flags=re.M)[1]
    first = first[: first.index("\n}")]
    assert "include /etc/nginx/snippets/wmx-listen-443-default.conf;" in first
    assert "ssl_reject_handshake on;" in first and "server_name" not in first
    # The session cache (resumption) is the default server's; a Host naming no site: 421.
    assert "include /etc/nginx/snippets/wmx-tls-params.conf;" in first
    assert "return 421;" in first
    assert conf.count("wmx-listen-443-default.conf") == 1


def test_a_preflight_is_answered_by_nginx_with_synapses_headers(one_host: Site) -> None:
    """Synapse down or restarting, a browser's preflight still gets its 204 (a 502 is no
    answer to it); the headers are Synapse's own (the e2e tier compares them)."""
    conf = _files(one_host, "hs1")["/etc/nginx/sites-available/wmx-tls.conf"].content
    homeserver = _server_blocks(conf)["matrix.example.test"]
    assert "if ($request_method = OPTIONS) {\n        return 204;\n    }" in homeserver
    for header in ("Origin", "Methods", "Headers"):
        variable = f"$wmx_preflight_{header.lower()}"
        assert f"add_header Access-Control-Allow-{header} {variable} always;" in homeserver
        assert re.search(rf"map \$request_method {re.escape(variable)} \{{", conf)
    assert "$wmx_preflight" not in _server_blocks(conf)["example.test"]  # its own, per document
