"""Issue 10: what wmx.yaml accepts, Synapse's own config loader accepts too.

Sites with settings at the edges of their documented bounds (and text that the grammars
let through) are rendered, and the real Synapse (the version wmx deploys, in the cached
test venv) loads the rendered homeserver.yaml and conf.d/secrets.yaml with
`HomeServerConfig.load_config`, the code it runs at start: every section parsed and
checked, nothing started.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE
from tests.integration.synapse_server import synapse_python
from wmx.render import plan_site
from wmx.site import Site, load_site
from wmx.site.config_edit import set_value
from wmx.site.init import init_site

LOAD = """
import sys
from synapse.config.homeserver import HomeServerConfig
config = HomeServerConfig.load_config("wmx-check", sys.argv[1:])
print("loaded", config.server.server_name)
"""

EDGES: dict[str, dict[str, str]] = {
    "upper bounds": {
        "synapse.max_upload_size_mb": "2048",
        # (url_previews stay off: the test venv has no url-preview extra; production has.)
        "synapse.url_previews.max_page_size_mb": "100",
        "synapse.media.max_image_pixels_m": "1000",
        "synapse.media.remote_lifetime": "100y",
        "synapse.retention": "{enabled: true, allowed_max_lifetime: 100y, purge_interval: 100y}",
        "synapse.privacy.user_ips_max_age": "100y",
        "synapse.login_rate_limit": "{per_second: 1000, burst_count: 100000}",
        "postgresql.max_connections": "1000",
        "synapse.log_level": "DEBUG",
    },
    "lower bounds and text": {
        "synapse.max_upload_size_mb": "1",
        "synapse.media.remote_lifetime": "1s",
        "synapse.retention": "{enabled: true, allowed_min_lifetime: 1s, purge_interval: 1s}",
        "synapse.login_rate_limit": "{per_second: 0.0001, burst_count: 1}",
        "postgresql.max_connections": "20",
        "synapse.email": "{smtp_host: 192.0.2.25, smtp_port: 65535, "
        "smtp_user: a.b+c@mail.example.test, notif_from: x+y@example.test}",
        "synapse.registration": "open",
        "synapse.privacy.room_directory_publishers": "['@*:example.test', '@a=b/c+d:example.test']",
        "synapse.federation_allow_ranges": "['10.213.0.0/24', '2001:db8::/32']",
    },
}


def _synapse_files(site: Site) -> dict[str, str]:
    plan = plan_site(site)
    host = next(h for h in plan.hosts.values() if "homeserver" in h.host.groups)
    return {f.dest: f.content for f in host.files if f.dest.startswith("/etc/matrix-synapse/")}


def _load_with_synapse(files: dict[str, str], workdir: Path) -> str:
    """Write Synapse's rendered files under `workdir` (host paths moved there) and load."""
    moves = {"/etc/matrix-synapse": str(workdir / "etc"), "/var/lib/synapse": str(workdir / "var")}

    def moved(text: str) -> str:
        for old, new in moves.items():
            text = text.replace(old, new)
        return text

    (workdir / "var").mkdir(parents=True)
    for dest, content in files.items():
        target = Path(moved(dest))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(moved(content))
    python = str(synapse_python())
    args = ["-c", moved("/etc/matrix-synapse/homeserver.yaml")]
    args += ["-c", moved("/etc/matrix-synapse/conf.d/secrets.yaml")]
    subprocess.run(
        [python, "-m", "synapse.app.homeserver", *args, "--generate-keys"],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    result = subprocess.run(
        [python, "-c", LOAD, *args], capture_output=True, text=True, cwd=workdir, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("name", list(EDGES))
def test_synapse_loads_what_wmx_accepts(tmp_path: Path, name: str) -> None:
    paths = init_site(tmp_path / "site", EXAMPLE)
    for key, value in EDGES[name].items():
        set_value(paths, key, value, deployed=False)
    site = load_site(paths.root)
    out = _load_with_synapse(_synapse_files(site), tmp_path / "synapse")
    assert "loaded example.test" in out


def test_edges_are_what_the_model_allows() -> None:
    """The upper bounds above are the model's own: a bound raised without this test
    following would leave the new maximum unchecked by Synapse."""
    from wmx.site.model import SiteConfig

    def bound(model: Any, dotted: str, which: str) -> object:
        *path, leaf = dotted.split(".")
        for part in path:
            model = model.model_fields[part].annotation
        for item in model.model_fields[leaf].metadata:
            if hasattr(item, which):
                return getattr(item, which)
        return None

    assert bound(SiteConfig, "synapse.max_upload_size_mb", "le") == 2048
    assert bound(SiteConfig, "synapse.login_rate_limit.per_second", "le") == 1000
    assert bound(SiteConfig, "synapse.login_rate_limit.burst_count", "le") == 100_000
    assert bound(SiteConfig, "postgresql.max_connections", "le") == 1000
