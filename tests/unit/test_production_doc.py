"""docs/production.md as tests/e2e/test_production.py walks it: which steps and commands
the lab runs, how their output is compared, and (without a lab) that the steps before
any host is reached print what the document shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.production_doc import LabNames, appears, compared, steps

WMX = str(Path(sys.executable).with_name("wmx"))
LAB = LabNames(server_name="prod.test", address="10.99.0.14", host="lab4")


def test_steps_1_to_9_are_walked_and_backups_are_marked_as_not() -> None:
    found = steps()
    assert sorted(found) == list(range(1, 11))
    assert [n for n, s in found.items() if not s.walked] == [10]
    commands = [c for s in found.values() if s.walked for b in s.blocks for c in b.commands]
    assert commands[0] == "ssh debian@203.0.113.10 sudo -n true"
    assert "wmx secrets sudo-password" in commands
    assert commands.index("wmx dns --check") < commands.index("wmx deploy")
    assert "wmx user create alice --generate-password" in commands
    # Everything walked is wmx itself, ssh, or a change of directory.
    assert all(c.split()[0] in {"wmx", "ssh", "cd"} for c in commands), commands
    # The output the walk compares: each command that shows one has lines to compare.
    shown = {b.shows: compared(b.printed) for s in found.values() for b in s.blocks}
    for command in ("wmx config validate", "wmx deploy", "wmx admin bootstrap"):
        assert shown[command], command
    # An example of a failure, introduced by a sentence, is not compared.
    assert shown["wmx dns --check"] == []


def test_the_inventory_block_logs_in_as_a_sudo_user() -> None:
    (block,) = steps()[3].yaml
    host = yaml.safe_load(block)["all"]["hosts"]["matrix"]
    assert host["ansible_user"] == "debian" and host["ansible_become"] is True


def test_comparison_and_substitution() -> None:
    assert appears(
        "Created site …/chapter for prod.test.", "Created site /tmp/x/chapter\nfor prod.test.\n"
    )
    assert not appears(
        "Created site …/chapter for prod.test.", "Created site /tmp/x/other for prod.test."
    )
    assert not appears("a … b", "b then a")
    assert compared(["┃ name ┃", "…", "sudo password: ", "  Password:   …   (kept)"]) == [
        "  Password:   …   (kept)"
    ]
    assert LAB.command("ssh debian@203.0.113.10 true") == "ssh debian@10.99.0.14 true"
    assert (
        LAB.printed("  matrix: converge base; https://matrix.example.org/ on matrix (x)")
        == "  lab4: converge base; https://matrix.prod.test/ on lab4 (x)"
    )


def test_steps_2_and_3_print_what_the_document_shows(tmp_path: Path) -> None:
    found = steps()
    env = {**os.environ, "COLUMNS": "200"}
    cwd = tmp_path
    printed: dict[str, str] = {}
    for number in (2, 3):
        if number == 3:
            # The lab's equivalent of step 3's edit (as `wmx lab up --site` writes it).
            inventory = cwd / "inventory.yml"
            text = inventory.read_text().replace("ansible_user: root", "ansible_user: debian")
            text = text.replace("203.0.113.10", LAB.address).replace("matrix:", f"{LAB.host}:")
            inventory.write_text(text)
        for block in found[number].blocks:
            for line in block.commands:
                if line.startswith("cd "):
                    cwd = cwd / line.split()[1]
                    continue
                argv = LAB.command(line).split()
                result = subprocess.run(
                    [WMX, *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True
                )
                assert result.returncode == 0, result.stderr
                printed[line] = result.stdout + result.stderr
            for expected in compared(block.printed):
                assert appears(LAB.printed(expected), printed[block.shows]), expected
