"""The lab's Meta stand-in as the lab runs it (wmx/lab/meta.py): the real daemon process
(`python -m wmx.lab.wikimedia`), TLS from a CA made for the test, on loopback."""

from __future__ import annotations

import json
import re
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.lab import ca, meta
from wmx.lab.errors import LabError
from wmx.lab.wikimedia import AUTHORIZE, LAB_ACCOUNTS, PROFILE, TOKEN
from wmx.ops.lab_login import attach_login
from wmx.site import SitePaths, load_config
from wmx.site.config_edit import set_value
from wmx.site.secrets import load_secrets

CALLBACK = "https://matrix.chapter.test/_synapse/client/oidc/callback"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[meta.MetaServerConfig, Path]]:
    ca_key, ca_cert = tmp_path / "ca.key", tmp_path / "ca.crt"
    ca.ensure_ca(ca_key, ca_cert)
    config = meta.MetaServerConfig(tmp_path / "meta", listen="127.0.0.1", port=_free_port())
    assert meta.ensure_running(config, ca_key, ca_cert)
    try:
        yield config, ca_cert
    finally:
        meta.stop(config)
    assert not meta.daemon(config).running()


def _log_in(config: meta.MetaServerConfig, trust: Path, sub: int) -> dict[str, object]:
    consumer = meta.consumer(config)
    base = f"https://127.0.0.1:{config.port}"
    with httpx.Client(verify=ssl.create_default_context(cafile=str(trust)), timeout=10) as web:
        params = {
            "client_id": consumer.client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "state": "s1",
        }
        consent = web.get(base + AUTHORIZE, params=params)
        assert consent.status_code == 200 and "verify your identity" in consent.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', consent.text))
        allowed = web.post(base + AUTHORIZE, data={**fields, "account": str(sub), "approve": "1"})
        assert allowed.status_code == 302, allowed.text
        back = urlsplit(allowed.headers["location"])
        assert f"https://{back.netloc}{back.path}" == CALLBACK
        answer = parse_qs(back.query)
        assert answer["state"] == ["s1"]
        token = web.post(
            base + TOKEN,
            data={
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "redirect_uri": CALLBACK,
            },
            auth=(consumer.client_id, consumer.client_secret),
        )
        assert token.status_code == 200, token.text
        bearer = token.json()["access_token"]
        profile = web.get(base + PROFILE, headers={"Authorization": f"Bearer {bearer}"})
        assert profile.status_code == 200
        result: dict[str, object] = profile.json()
        return result


def test_the_lab_daemon_serves_the_oauth_flow_over_tls(
    running: tuple[meta.MetaServerConfig, Path],
) -> None:
    config, trust = running
    consumer = meta.consumer(config)
    assert re.fullmatch(r"[0-9a-f]{32}", consumer.client_id)
    # The consumer's secret is root's alone.
    assert stat.S_IMODE(config.consumer_file.stat().st_mode) == 0o600
    plain = LAB_ACCOUNTS["non_ascii"]
    profile = _log_in(config, trust, plain.sub)
    assert profile["sub"] == plain.sub and profile["username"] == plain.username


def test_a_callback_outside_the_prefix_is_refused(
    running: tuple[meta.MetaServerConfig, Path],
) -> None:
    config, trust = running
    consumer = meta.consumer(config)
    answer = httpx.get(
        f"https://127.0.0.1:{config.port}{AUTHORIZE}",
        params={
            "client_id": consumer.client_id,
            "redirect_uri": "http://matrix.chapter.test/callback",
            "response_type": "code",
        },
        verify=ssl.create_default_context(cafile=str(trust)),
    )
    assert answer.status_code == 400 and "redirect_uri" in answer.text


def test_a_rename_reaches_the_running_daemon_with_the_same_sub(
    running: tuple[meta.MetaServerConfig, Path],
) -> None:
    config, trust = running
    renamed = LAB_ACCOUNTS["renamed"]
    assert _log_in(config, trust, renamed.sub)["username"] == renamed.username
    meta.change_account(config, renamed.sub, username="Renamed On Meta")
    profile = _log_in(config, trust, renamed.sub)
    assert (profile["sub"], profile["username"]) == (renamed.sub, "Renamed On Meta")
    with pytest.raises(LabError, match="no account 4242"):
        meta.change_account(config, 4242, blocked=True)


def test_a_second_start_keeps_the_consumer_and_the_running_daemon(
    running: tuple[meta.MetaServerConfig, Path],
) -> None:
    config, trust = running
    before = json.loads(config.consumer_file.read_text())
    pid = meta.daemon(config).pid()
    ca_key = trust.with_name("ca.key")
    assert not meta.ensure_running(config, ca_key, trust)
    assert meta.daemon(config).pid() == pid
    assert json.loads(config.consumer_file.read_text()) == before


@dataclass
class _LabWithMeta:
    meta: meta.MetaServerConfig


def test_lab_up_site_points_a_login_site_at_the_labs_meta(tmp_path: Path) -> None:
    ca_key, ca_cert = tmp_path / "ca.key", tmp_path / "ca.crt"
    ca.ensure_ca(ca_key, ca_cert)
    lab = _LabWithMeta(meta.MetaServerConfig(tmp_path / "meta"))
    meta.write_files(lab.meta, ca_key, ca_cert)
    consumer = meta.consumer(lab.meta)
    site = tmp_path / "site"
    init = ["init", str(site), "--defaults", "--server-name", "example.test"]
    assert CliRunner().invoke(app, init).exit_code == 0
    paths = SitePaths(site)
    # Passwords: left alone.
    attach_login(paths, load_config(paths), lab)  # type: ignore[arg-type]
    assert not load_config(paths).login.enabled
    set_value(
        paths, "login", "{provider: wikimedia, consumer_key: '" + "a" * 32 + "'}", deployed=False
    )
    attach_login(paths, load_config(paths), lab)  # type: ignore[arg-type]
    login = load_config(paths).login
    assert (login.wiki_url, login.script_path) == ("https://meta.lab.test", "/w")
    assert login.consumer_key == consumer.client_id
    assert load_secrets(paths.secrets).login_client_secret == consumer.client_secret
    before = paths.config.read_text()
    attach_login(paths, load_config(paths), lab)  # type: ignore[arg-type]
    assert paths.config.read_text() == before
