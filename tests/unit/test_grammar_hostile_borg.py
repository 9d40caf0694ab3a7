"""backup.repositories (wmx/site/borg.py) held to the host and port grammars every other
host and port of wmx.yaml is: a port 0 or 99999, a host beginning with `-` (which ssh
reads as an option), `..`, and the old spellings of IPv4 addresses (`127.1`, `0x7f.1`,
`2130706433`, each another address than it looks) had been accepted and rendered."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.unit.test_hostile_input import Case, _edit
from tests.unit.test_hostile_input import (
    test_input_error_is_one_line_exit_2_and_writes_nothing as check_case,
)
from wmx.site.borg import repository_host
from wmx.site.settings.backup import BackupSettings

REFUSED = [
    # ports outside 1-65535
    "ssh://borg@backup.example.org:99999/repo", "ssh://borg@backup.example.org:0/repo",
    "ssh://borg@backup.example.org:65536/repo", "ssh://borg@[fd00::15]:0/repo",
    # a host ssh would read as an option, or no RFC 1123 name
    "borg@-oProxyCommand.x:repo", "ssh://borg@-oProxyCommand=x/repo",
    "borg@backup-.example.org:repo", "borg@..:repo", "borg@.example.org:repo",
    "borg@example..org:repo",
    # old spellings of IPv4 addresses, each another address than it shows
    "borg@127.1:repo", "borg@0x7f.1:repo", "borg@2130706433:repo",
    "ssh://borg@0177.0.0.1/repo", "borg@010.0.0.1:repo",
]  # fmt: skip
ACCEPTED = [
    "borg@backup.example.org:/srv/borg/site", "borg@Backup.Example.org:repo",
    "borg@10.0.0.9:repo", "ssh://u@h.example.org:2222/./repo",
    "ssh://u@h.example.org:65535/./repo", "ssh://borg@10.0.0.9:1/srv",
    "ssh://borg@[fd00::15]:2222/srv/borg", "ssh://borg@[2001:db8::9]/srv/borg",
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_a_bad_host_or_port_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="remote borg repository") as caught:
        BackupSettings(repositories=[url])
    assert "port 1 to 65535" in str(caught.value)


def test_good_repositories_stay_as_written() -> None:
    assert BackupSettings(repositories=ACCEPTED).repositories == ACCEPTED
    assert all(repository_host(url) for url in ACCEPTED)


def test_a_refused_repository_names_wmx_yaml_line_and_key(site_dir: object) -> None:
    edit = _edit("wmx.yaml", "  repositories: []", "  repositories: ['borg@-oProxyCommand.x:repo']")
    case = Case("borg-dash-host", edit, ("render",), ("wmx.yaml:", "backup.repositories"))
    check_case(site_dir, case)  # type: ignore[arg-type]
