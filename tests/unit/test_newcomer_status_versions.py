"""`wmx status` shows each service's version (README: "hosts, services, versions"): every
service of the registry says where its host tells it, and a release kept as a venv
behind a `current` link (Synapse, its workers, Heisenbridge) is read from that link.
Heisenbridge's version had been "-": its service named no source."""

from __future__ import annotations

from pathlib import Path

from wmx.agent import probe
from wmx.components import COMPONENTS
from wmx.components.irc_bridge import HEISENBRIDGE_CURRENT_LINK
from wmx.components.synapse import SYNAPSE_CURRENT_LINK


def test_every_service_names_where_its_version_comes_from() -> None:
    sources = {s.name: s.version_from for c in COMPONENTS for s in c.services}
    assert not [name for name, source in sources.items() if not source]
    assert sources["heisenbridge"] == HEISENBRIDGE_CURRENT_LINK
    assert sources["synapse"] == sources["synapse-workers"] == SYNAPSE_CURRENT_LINK


def test_a_current_link_gives_the_name_of_the_release_it_points_at(tmp_path: Path) -> None:
    release = tmp_path / "venvs" / "1.15.4"
    release.mkdir(parents=True)
    link = tmp_path / "current"
    link.symlink_to(release)
    assert probe.version_of(str(link), "heisenbridge.service") == "1.15.4"
    assert probe.version_of(str(tmp_path / "missing"), "heisenbridge.service") == ""
    assert probe.version_of("", "heisenbridge.service") == ""
