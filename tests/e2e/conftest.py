"""The e2e tier: real lab hosts, the real `wmx` command, real clients over real TLS.

One lab and one deployed site are shared by the whole session; tests that break things
put them back. A deployed site is booted from a snapshot of its hosts when an earlier
session deployed exactly the same thing (tests/e2e/deployments.py), and deployed (then
snapshotted) otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_root
from tests.e2e.clients import https, wait_until
from tests.e2e.deployments import Deployment, Recipe, deployed_site
from wmx.lab import Lab
from wmx.site import Site, load_site
from wmx.site.yamlfile import dump_document, load_document, write_atomically

WMX = str(Path(sys.executable).with_name("wmx"))

# The Debian release of every lab host the tier starts (`Lab.up`, `wmx lab up`), and part
# of each deployed site's snapshot key: $WMX_LAB_RELEASE, trixie or bookworm. Debian 13,
# as for `wmx lab up`: the release a new server runs; scripts/test covers Debian 12 too.
os.environ.setdefault("WMX_LAB_RELEASE", "trixie")
SERVER_NAME = "wmx.test"
UPLOAD_LIMIT_MB = 2


@pytest.fixture(scope="session", autouse=True)
def _needs_root() -> None:
    require_root("the lab boots containers in network namespaces")


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


def new_site(root: Path, server_name: str, settings: dict[str, str] | None = None) -> Path:
    """`wmx init --defaults` for ``server_name`` in ``root``, then `wmx config set` each
    of ``settings``; the site's directory."""
    wmx("init", str(root), "--defaults", "--server-name", server_name)
    for key, value in (settings or {}).items():
        wmx("config", "set", key, value, site=root)
    return root


def drop_groups(root: Path, *groups: str) -> None:
    """Take ``groups`` out of the site's inventory: a test site that runs fewer components
    than the lab attached (e.g. no monitoring), so its deploy is shorter."""
    inventory = root / "inventory.yml"
    document = load_document(inventory)
    for group in groups:
        document["all"]["children"].pop(group, None)
    write_atomically(inventory, dump_document(document))


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


# The shared site: everything on lab1, as `wmx init --defaults` and `wmx lab up` make it.
CHAPTER_SETTINGS = {
    "synapse.max_upload_size_mb": str(UPLOAD_LIMIT_MB),
    # Every test client logs in from the lab bridge's one address.
    "synapse.login_rate_limit.burst_count": "200",
}
CHAPTER = Recipe(
    name="chapter",
    hosts=("lab1",),
    described_in=__file__,
    details={"server_name": SERVER_NAME, "settings": CHAPTER_SETTINGS},
)


def _deploy_chapter(root: Path) -> subprocess.CompletedProcess[str]:
    new_site(root, SERVER_NAME, CHAPTER_SETTINGS)
    # A first deploy, onto a fresh host: not onto what an earlier run left on lab1.
    Lab().remove("lab1")
    wmx("lab", "up", "--hosts", "1", "--site", str(root))
    return wmx("deploy", site=root)


@pytest.fixture(scope="session")
def deployed(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    root = tmp_path_factory.mktemp("sites") / "chapter"
    deployment = deployed_site(CHAPTER, lab, root, _deploy_chapter, on_restore=_after_restore)
    return Deployed(site=load_site(root), lab=lab, first_deploy=deployment.first_deploy)


def _after_restore(deployment: Deployment) -> None:
    # The leak checks read every output of the session, the first deploy's included.
    TRANSCRIPT.append(deployment.first_deploy.stdout + deployment.first_deploy.stderr)
    # A deploy returns once Synapse answers; a booted copy must get there too.
    site = load_site(deployment.root)
    wait_for_homeserver(f"https://{site.config.homeserver.host}", Lab().trust_bundle_path)


def wait_for_homeserver(url: str, trust: Path) -> None:
    def answers() -> bool:
        with https(str(trust)) as http:
            return http.get(f"{url}/_matrix/client/versions").status_code == 200

    wait_until(answers, f"{url} to answer after booting from a snapshot", timeout=300)
