"""Pure parts of the lab's bookkeeping: state.json, mountinfo, PEM and resolv.conf parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.lab import network
from wmx.lab.acme import split_pem
from wmx.lab.lab import Lab
from wmx.lab.mounts import mounts_under
from wmx.lab.state import HostRecord, LabState, load_state, save_state


def test_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = LabState(
        hosts={"lab1": HostRecord(address="10.213.0.11", supervisor_pid=42)},
        names={"example.test": "lab1"},
        ip_forward_before="0",
    )
    save_state(path, state)
    assert load_state(path) == state


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"hosts": {"lab1": {}}}', '{"hosts": "x"}', '{"names": 3}']
)
def test_unreadable_state_is_treated_as_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    assert load_state(path) == LabState()


def test_missing_state_is_empty(tmp_path: Path) -> None:
    assert load_state(tmp_path / "nope.json") == LabState()


def test_wrongly_typed_pids_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"hosts": {"lab1": {"address": "10.213.0.11", "supervisor_pid": "12"}}}')
    assert load_state(path).hosts["lab1"].supervisor_pid is None


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
43 42 0:4 net:[4026532177] /run/netns/wmx-lab1 rw shared:2 - nsfs nsfs rw
50 22 254:0 /apt/lab1 /var/lib/wmx/lab/hosts/lab1/var/cache/apt/archives rw - ext4 /dev/vda rw
51 22 0:5 / /var/lib/wmx/lab/hosts/lab1/proc rw - proc proc rw
52 51 0:6 / /var/lib/wmx/lab/hosts/lab1/proc/sys/fs/binfmt_misc rw - binfmt_misc x rw
53 22 0:7 / /var/lib/wmx/lab/hosts/lab10/proc rw - proc proc rw
54 22 0:8 / /var/lib/wmx/lab/hosts/with\\040space rw - tmpfs tmpfs rw
"""


def test_mounts_under_finds_bind_mounts_children_before_parents() -> None:
    found = mounts_under(Path("/var/lib/wmx/lab/hosts/lab1"), MOUNTINFO)
    proc = Path("/var/lib/wmx/lab/hosts/lab1/proc")
    binfmt = proc / "sys/fs/binfmt_misc"
    archives = Path("/var/lib/wmx/lab/hosts/lab1/var/cache/apt/archives")
    # lab10 is another host, not a subdirectory of lab1.
    assert set(found) == {proc, binfmt, archives}
    assert found.index(binfmt) < found.index(proc)


def test_mounts_under_decodes_escapes() -> None:
    assert mounts_under(Path("/var/lib/wmx/lab/hosts/with space"), MOUNTINFO) == [
        Path("/var/lib/wmx/lab/hosts/with space")
    ]


def test_mounts_under_a_path_without_mounts() -> None:
    assert mounts_under(Path("/srv"), MOUNTINFO) == []


PEM = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"


def testsplit_pem() -> None:
    assert split_pem(PEM + PEM.replace("AAA", "BBB")) == [PEM, PEM.replace("AAA", "BBB")]
    assert split_pem("") == []


def test_upstream_nameservers_skip_loopback(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch x\n")
    assert network.upstream_nameservers(resolv) == ["10.255.255.53"]


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from wmx.lab import LabError

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match="wmx lab needs root: it creates network namespaces"):
        Lab.require_root()


def test_set_names_refuses_names_outside_test(monkeypatch: pytest.MonkeyPatch) -> None:
    from wmx.lab import LabError

    monkeypatch.setattr("os.geteuid", lambda: 0)
    lab = Lab(state_dir=Path("/nonexistent/never-created"))
    with pytest.raises(LabError, match=r"not a name under \.test"):
        lab.set_names({"example.org": "lab1"})
    with pytest.raises(LabError, match="reserved"):
        lab.set_names({"acme.lab.test": "lab1"})
    with pytest.raises(LabError, match="not a lab host name"):
        lab.set_names({"example.test": "web1"})
