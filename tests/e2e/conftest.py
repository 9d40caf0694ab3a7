"""The e2e tier: real lab hosts, the real `wmx` command, real clients over real TLS.

One lab and one deployed site are shared by the whole session (a deploy takes minutes);
tests that break things put them back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wmx.lab import Lab
from wmx.site import Site, load_site

WMX = str(Path(sys.executable).with_name("wmx"))
SERVER_NAME = "wmx.test"
UPLOAD_LIMIT_MB = 2


@pytest.fixture(scope="session", autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("e2e tests need root: the lab boots containers in network namespaces")


def wmx(
    *args: str, site: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as an operator would; output is kept for the leak checks."""
    argv = [WMX, *(["--site", str(site)] if site else []), *args]
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    TRANSCRIPT.append(result.stdout + result.stderr)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


TRANSCRIPT: list[str] = []


@dataclass
class Deployed:
    site: Site
    lab: Lab
    first_deploy: subprocess.CompletedProcess[str]

    @property
    def host(self) -> str:
        return self.site.topology.the("homeserver").name

    @property
    def address(self) -> str:
        return self.site.topology.the("homeserver").address

    @property
    def trust(self) -> str:
        return str(self.lab.trust_bundle_path)

    @property
    def homeserver_url(self) -> str:
        return f"https://{self.site.config.homeserver.host}"


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    lab = Lab()
    yield lab
    if not os.environ.get("WMX_KEEP_LAB"):
        lab.down()


@pytest.fixture(scope="session")
def deployed(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    root = tmp_path_factory.mktemp("sites") / "chapter"
    wmx("init", str(root), "--defaults", "--server-name", SERVER_NAME)
    wmx("config", "set", "synapse.max_upload_size_mb", str(UPLOAD_LIMIT_MB), site=root)
    # Every test client logs in from the lab bridge's one address.
    wmx("config", "set", "synapse.login_rate_limit.burst_count", "200", site=root)
    wmx("lab", "up", "--hosts", "1", "--site", str(root))
    first = wmx("deploy", site=root)
    return Deployed(site=load_site(root), lab=lab, first_deploy=first)
