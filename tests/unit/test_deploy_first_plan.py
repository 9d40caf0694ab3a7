"""The deploy plan's first line on a host never deployed: files to install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from wmx.ops.deploy import plan_deploy
from wmx.site import load_site


def test_a_first_deploy_says_files_to_install_not_differing(tmp_path: Path) -> None:
    """A site's first `wmx deploy` said "58 file(s) differ from the last deploy": there
    was none. A host never deployed has its files to install; one deployed before still
    counts what differs, each in its own words when a site has both."""
    from wmx.ops.deploy_present import show_plan
    from wmx.present import console

    wmx = str(Path(sys.executable).with_name("wmx"))
    root = tmp_path / "site"
    init = [wmx, "init", str(root), "--defaults", "--server-name", "example.org"]
    subprocess.run(init, check=True, capture_output=True)
    deployment = plan_deploy(load_site(root), full=True)  # full: no drift check over SSH
    (host,) = deployment.hosts
    assert deployment.first_hosts == [host]
    with console.capture() as captured:
        show_plan(deployment)
    files = len(deployment.pending)
    assert files > 10
    assert captured.get().startswith(
        f"Rendered 1 host(s); {files} file(s) to install on {host} (a first deploy).\n"
    )
    shutil.copytree(root / "build", root / ".wmx" / "deployed")
    deployment = plan_deploy(load_site(root), full=True)
    assert deployment.first_hosts == []
    with console.capture() as captured:
        show_plan(deployment)
    assert captured.get().startswith("Rendered 1 host(s); 0 file(s) differ from the last deploy.")
