"""The lab's IRC network: ngircd (Debian) on the machine, standing in for Libera.Chat.

    lab hosts (IRC bridge) ──irc / irc+TLS──► ngircd 10.213.0.1:6667 / :6697 (irc.lab.test)
    test clients on the machine ──────────────► the same ports
    ngircd ──ident (113)──► the connecting host (the bridge's identd)

Like Libera.Chat it speaks TLS on 6697 (a certificate from the lab CA, which every host
trusts), looks up each client's ident, and limits nicks to 16 characters. It has no
services, so no SASL: sites pointed at the lab turn SASL off for its network. It starts
only where ngircd is installed (`apt-get install ngircd`; scripts/setup does it).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from wmx.lab import ca, commands
from wmx.lab.addressing import GATEWAY, LAB_DOMAIN
from wmx.lab.daemons import Daemon
from wmx.lab.errors import LabError
from wmx.lab.paths import LabPaths

IRC_NAME = f"irc.{LAB_DOMAIN}"
IRC_PORT = 6667
IRC_TLS_PORT = 6697
START_TIMEOUT = 20.0
NGIRCD = "ngircd"


@dataclass(frozen=True)
class IrcServerConfig:
    """One ngircd instance: the lab's, or a test's own on loopback."""

    directory: Path
    name: str = IRC_NAME
    listen: str = str(GATEWAY)
    port: int = IRC_PORT
    tls_port: int | None = IRC_TLS_PORT

    @property
    def config_file(self) -> Path:
        return self.directory / "ngircd.conf"

    @property
    def cert(self) -> Path:
        return self.directory / "irc.crt"

    @property
    def key(self) -> Path:
        return self.directory / "irc.key"

    def text(self) -> str:
        tls = (
            f"[SSL]\n\tCertFile = {self.cert}\n\tKeyFile = {self.key}\n\tPorts = {self.tls_port}\n"
            if self.tls_port
            else ""
        )
        return (
            "# Written by wmx (wmx/lab/ircd.py): the lab's stand-in for Libera.Chat.\n"
            "[Global]\n"
            f"\tName = {self.name}\n"
            "\tInfo = wmx lab IRC network (stands in for Libera.Chat)\n"
            f"\tListen = {self.listen}\n"
            f"\tPorts = {self.port}\n"
            "\tMotdPhrase = This is the wmx lab's IRC network; nothing here is real.\n"
            "\tAdminInfo1 = wmx lab\n"
            "\tAdminInfo2 = this machine\n"
            "\tAdminEMail = root@localhost\n"
            "[Limits]\n"
            # Every bridged user connects from the bridge's one address.
            "\tMaxConnectionsIP = 0\n"
            "\tMaxJoins = 0\n"
            "\tMaxNickLength = 16\n"
            "\tPingTimeout = 120\n"
            "\tPongTimeout = 20\n"
            "[Options]\n"
            # ngircd looks up idents only together with host names (/etc/hosts here). It
            # takes letters and digits only, so it ignores Heisenbridge's `m-xxxxxx`
            # (Libera.Chat accepts it): tests ask the bridge's identd themselves.
            "\tDNS = yes\n"
            "\tIdent = yes\n"
            "\tPAM = no\n"
            "\tRequireAuthPing = no\n"
            "\tSyslogFacility = none\n" + tls
        )


def lab_config(paths: LabPaths) -> IrcServerConfig:
    return IrcServerConfig(directory=paths.state_dir / "irc")


def daemon(config: IrcServerConfig) -> Daemon:
    return Daemon(
        # --nodaemon: stay in the foreground under the lab's pid file; logs go to stdout.
        argv=[NGIRCD, "--nodaemon", "--config", str(config.config_file)],
        pidfile=config.directory / "ngircd.pid",
        logfile=config.directory / "ngircd.log",
        markers=(str(config.config_file),),
        program=NGIRCD,
        env=commands.clean_env(),
        cwd=config.directory,
    )


def available() -> bool:
    return shutil.which(NGIRCD, path=commands.CLEAN_PATH) is not None


def write_files(config: IrcServerConfig, ca_key: Path, ca_cert: Path) -> bool:
    """Write the configuration and (re)issue the certificate; True if anything changed."""
    config.directory.mkdir(parents=True, exist_ok=True)
    changed = False
    if config.tls_port:
        changed = ca.ensure_server_cert(
            ca_key, ca_cert, config.key, config.cert, [config.name], [config.listen]
        )
    text = config.text()
    if not config.config_file.exists() or config.config_file.read_text() != text:
        config.config_file.write_text(text)
        changed = True
    return changed


def ensure_running(config: IrcServerConfig, ca_key: Path, ca_cert: Path) -> bool:
    """Start ngircd unless it runs with the current files; True if it (re)started."""
    changed = write_files(config, ca_key, ca_cert)
    server = daemon(config)
    if server.running() and not changed and ready(config):
        return False
    server.stop()
    process = server.start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready(config):
            return True
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = server.log_tail(3).replace("\n", " | ")
    raise LabError(f"ngircd did not start (log: {server.logfile}){': ' + tail if tail else ''}")


def restart(config: IrcServerConfig, ca_key: Path, ca_cert: Path) -> None:
    """Stop and start it again: every client is disconnected (tests of reconnection)."""
    daemon(config).stop()
    ensure_running(config, ca_key, ca_cert)


def stop(config: IrcServerConfig) -> None:
    daemon(config).stop()


def ready(config: IrcServerConfig) -> bool:
    """It accepts connections on its plain port and completes a TLS handshake on its TLS
    port (it says nothing before a client registers)."""
    try:
        with socket.create_connection((config.listen, config.port), timeout=2):
            pass
        if config.tls_port:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with (
                socket.create_connection((config.listen, config.tls_port), timeout=2) as raw,
                context.wrap_socket(raw, server_hostname=config.name),
            ):
                pass
        return True
    except OSError:
        return False
