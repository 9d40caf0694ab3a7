"""The managed /etc/hosts block: replaced whole, removed cleanly, never touching the rest."""

from __future__ import annotations

import os
from pathlib import Path

from wmx.lab.hostsfile import (
    BEGIN_MARKER,
    END_MARKER,
    render_block,
    replace_block,
    update_hosts_file,
)

MACHINE = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n"


def block(*lines: str) -> str:
    return render_block({line.split()[0]: line.split()[1:] for line in lines})


def test_render_sorts_addresses_numerically_and_keeps_name_order() -> None:
    text = render_block(
        {"10.213.0.12": ["lab2.lab.test", "lab2"], "10.213.0.2": ["x.test"], "10.213.0.11": []}
    )
    lines = text.splitlines()
    assert lines[0] == BEGIN_MARKER and lines[-1] == END_MARKER
    entries = [line for line in lines if not line.startswith("#")]
    # An address without names has nothing to say and is left out.
    assert entries == ["10.213.0.2 x.test", "10.213.0.12 lab2.lab.test lab2"]


def test_render_drops_duplicate_names() -> None:
    assert "10.0.0.1 a.test b.test\n" in render_block({"10.0.0.1": ["a.test", "b.test", "a.test"]})


def test_replace_appends_to_a_file_without_block() -> None:
    new = block("10.213.0.11 lab1.lab.test")
    assert replace_block(MACHINE, new) == MACHINE + new


def test_replace_adds_missing_final_newline_before_the_block() -> None:
    new = block("10.213.0.11 lab1.lab.test")
    assert replace_block("127.0.0.1 localhost", new) == "127.0.0.1 localhost\n" + new


def test_replace_swaps_an_existing_block_and_keeps_lines_after_it() -> None:
    old = block("10.213.0.11 lab1.lab.test")
    text = MACHINE + old + "192.0.2.9 added.later\n"
    new = block("10.213.0.12 lab2.lab.test")
    result = replace_block(text, new)
    assert "lab1.lab.test" not in result
    assert result == MACHINE + "192.0.2.9 added.later\n" + new


def test_remove_restores_the_original_text() -> None:
    assert replace_block(MACHINE + block("10.213.0.11 a.test"), None) == MACHINE


def test_remove_all_blocks_if_there_are_several() -> None:
    text = block("10.0.0.1 a.test") + MACHINE + block("10.0.0.2 b.test")
    assert replace_block(text, None) == MACHINE


def test_unterminated_block_is_dropped_to_the_end() -> None:
    text = MACHINE + BEGIN_MARKER + "\n10.0.0.1 a.test\n"
    assert replace_block(text, None) == MACHINE


def test_markers_must_be_whole_lines() -> None:
    text = f"10.0.0.9 x # BEGIN wmx lab is mentioned\n{MACHINE}"
    assert replace_block(text, None) == text


def test_update_file_keeps_mode_and_reports_changes(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(MACHINE)
    os.chmod(hosts, 0o644)
    new = block("10.213.0.11 lab1.lab.test")
    assert update_hosts_file(hosts, new) is True
    assert update_hosts_file(hosts, new) is False  # idempotent: nothing rewritten
    assert hosts.read_text() == MACHINE + new
    assert hosts.stat().st_mode & 0o777 == 0o644
    assert update_hosts_file(hosts, None) is True
    assert hosts.read_text() == MACHINE
    # No temporary files left next to it.
    assert [p.name for p in tmp_path.iterdir()] == ["hosts"]


def test_update_missing_file(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    assert update_hosts_file(hosts, None) is False
    assert not hosts.exists()
    update_hosts_file(hosts, block("10.0.0.1 a.test"))
    assert "10.0.0.1 a.test" in hosts.read_text()
