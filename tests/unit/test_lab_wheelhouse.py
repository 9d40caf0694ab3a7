"""The lab's wheelhouse: hosts' pip finds it, and harvesting reports what it added."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from wmx.lab import wheelhouse

ROOTFS_PIP_CONF = """\
# Written by wmx lab: use the system trust store (it holds the lab's CAs).
[global]
cert = /etc/ssl/certs/ca-certificates.crt
"""


def test_hosts_pip_looks_in_the_wheelhouse_once(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(ROOTFS_PIP_CONF)
    wheelhouse.add_find_links(conf)
    wheelhouse.add_find_links(conf)
    text = conf.read_text()
    assert text.count("find-links = /var/cache/wmx-lab/wheels") == 1
    assert "cert = /etc/ssl/certs/ca-certificates.crt" in text
    assert text.index("[global]") < text.index("find-links")


def test_a_host_without_pip_conf_gets_one(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    wheelhouse.add_find_links(conf)
    assert conf.read_text() == "[global]\nfind-links = /var/cache/wmx-lab/wheels\n"


def test_harvest_runs_its_script_in_the_host_and_counts(tmp_path: Path) -> None:
    seen: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return subprocess.CompletedProcess(list(argv), 0, "12\n", "")

    assert wheelhouse.harvest(run) == 12
    assert seen[0][:2] == ["sh", "-c"] and seen[0][-1] == "/var/cache/wmx-lab/wheels"


def test_the_harvest_script_adds_only_missing_wheels(tmp_path: Path) -> None:
    """The script's bookkeeping, with a stand-in for a venv's python (no network)."""
    house = tmp_path / "house"
    house.mkdir()
    (house / "Twisted-24.11.0-py3-none-any.whl").write_text("already here")
    fake = tmp_path / "opt/synapse/venvs/1.0/bin/python"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$3" = freeze ]; then printf "twisted==24.11.0\\nattrs==25.1.0\\n"; exit 0; fi\n'
        # pip wheel ... --wheel-dir DIR -r FILE: one wheel per line of FILE
        'shift 5; dir=$2; mkdir -p "$dir"; while read -r pin; do\n'
        '  touch "$dir/${pin%%==*}-${pin##*==}-py3-none-any.whl"; done < "$4"\n'
    )
    fake.chmod(0o755)
    script = wheelhouse.HARVEST_SCRIPT.replace("/opt/", f"{tmp_path}/opt/")
    out = subprocess.run(
        ["sh", "-c", script, "harvest", str(house)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"
    # Every wheel carries the build tag that makes pip prefer it to the index's copy.
    assert sorted(p.name for p in house.iterdir()) == [
        "Twisted-24.11.0-1wmxlab-py3-none-any.whl",
        "attrs-25.1.0-1wmxlab-py3-none-any.whl",
    ]
