"""The line a message names for a host's variable is the line of the node Ansible reads it
from (wmx.site.inventory_lines), found in the loaded document, not by a regular
expression over the text: that found another host's line when the host's name was first
written in a group, a line inside a block scalar, a comment's template marks, or no line
at all for a flow mapping; and group_vars/all's line for a value host_vars/ set."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.ops.site_warnings import key_file_warnings, placeholder_warnings
from wmx.site import load_site

from .test_hostile_files import new_site

runner = CliRunner()

GROUPS = """  children:
    database: {hosts: {matrix: }}
    homeserver:
      hosts:
        matrix:
    proxy:
      hosts:
        matrix:
    backup:
      hosts:
        store:
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return new_site(tmp_path)


def _inventory(site: Path, hosts: str) -> Path:
    """inventory.yml with the groups first (each host's name is written there before its
    variables), then `hosts` under all.hosts."""
    path = site / "inventory.yml"
    path.write_text("all:\n" + GROUPS + "  hosts:\n" + hosts)
    return path


def _line(path: Path, text: str, nth: int = 1) -> int:
    lines = path.read_text().splitlines()
    found = [n for n, line in enumerate(lines, 1) if text in line]
    return found[nth - 1]


def _refused(site: Path) -> str:
    result = runner.invoke(app, ["--site", str(site), "render"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("error: ")


def test_a_key_file_warning_names_its_own_hosts_line(site: Path) -> None:
    # matrix is first written in group database; store's key line comes after that.
    path = _inventory(
        site,
        "    store:\n"
        "      ansible_host: 10.0.0.20\n"
        "      ansible_ssh_private_key_file: /nonexistent/wmx-key\n"
        "    matrix:\n"
        "      ansible_host: 10.0.0.7\n"
        "      memory_mb: 2048\n"
        "      ansible_ssh_private_key_file: /nonexistent/wmx-key\n",
    )
    warnings = key_file_warnings(load_site(site))
    mine = next(w for w in warnings if ": matrix: " in w)
    assert mine.startswith(f"{path}:{_line(path, 'ansible_ssh_private_key_file', 2)}: "), mine


def test_a_placeholder_in_a_flow_mapping_has_its_line(site: Path) -> None:
    path = _inventory(
        site,
        "    store: {ansible_host: 10.0.0.20}\n"
        "    matrix: {ansible_host: 203.0.113.10, memory_mb: 2048}\n",
    )
    (warning,) = placeholder_warnings(load_site(site))
    assert warning.startswith(f"{path}:{_line(path, 'matrix: {ansible_host')}: matrix: "), warning


def test_a_placeholder_after_a_block_scalar_that_quotes_it(site: Path) -> None:
    path = _inventory(
        site,
        "    store:\n"
        "      ansible_host: 10.0.0.20\n"
        "    matrix:\n"
        "      motd: |\n"
        "        ansible_host: 203.0.113.10\n"
        "      ansible_host: 203.0.113.10\n"
        "      memory_mb: 2048\n",
    )
    (warning,) = placeholder_warnings(load_site(site))
    assert warning.startswith(f"{path}:{_line(path, 'ansible_host: 203.0.113.10', 2)}: ")


# (store's variables, matrix's, the text of the line named, the variable named): matrix
# is checked first (by name) and its line comes after store's and after a comment.
REFUSED = [
    ("      memory_mb: 4096\n", "      memory_mb: 100\n", "memory_mb: 100", "memory_mb"),
    (
        "",
        "      # never write {{ … }} here\n"
        "      extra:\n"
        "        plain: one\n"
        "        inner: \"{{ lookup('pipe', 'id') }}\"\n",
        "inner:",
        "extra",
    ),
    (
        '      ansible_user: "{{ one }}"\n',
        '      ansible_user: "{{ two }}"\n',
        "two }}",
        "ansible_user",
    ),
    (
        "      ansible_port: 22\n",
        "      ansible_port: 70000\n",
        "ansible_port: 70000",
        "ansible_port",
    ),
    (
        "      note: bad_host.example is wrong\n",
        "      ansible_host: bad_host.example\n",
        "ansible_host: bad_host",
        "ansible_host",
    ),
]


@pytest.mark.parametrize(("store", "matrix", "marker", "key"), REFUSED)
def test_a_refused_variable_is_named_at_its_own_line(
    site: Path, store: str, matrix: str, marker: str, key: str
) -> None:
    path = _inventory(
        site,
        f"    store:\n      ansible_host: 10.0.0.20\n{store}    matrix:\n"
        + ("" if "ansible_host:" in matrix else "      ansible_host: 10.0.0.7\n")
        + matrix,
    )
    line = _refused(site)
    assert line.startswith(f"{path}:{_line(path, marker)}: matrix.{key}: "), line


def test_host_vars_beats_group_vars_all(site: Path) -> None:
    _inventory(site, "    store:\n      ansible_host: 10.0.0.20\n    matrix:\n")
    (site / "group_vars").mkdir()
    (site / "group_vars" / "all.yml").write_text("ansible_host: 10.0.0.7\nmemory_mb: 2048\n")
    (site / "host_vars").mkdir()
    (site / "host_vars" / "matrix.yml").write_text("# the small one\nmemory_mb: 64\n")
    line = _refused(site)
    assert line.startswith(f"{site / 'host_vars' / 'matrix.yml'}:2: matrix.memory_mb"), line


def test_a_connection_variable_of_host_vars_is_named_there(site: Path) -> None:
    _inventory(
        site,
        "    store:\n      ansible_host: 10.0.0.20\n      ansible_become_method: sudo\n"
        "    matrix:\n      ansible_host: 10.0.0.7\n",
    )
    (site / "host_vars").mkdir()
    (site / "host_vars" / "matrix.yml").write_text("ansible_become_method: su\n")
    line = _refused(site)
    assert line.startswith(f"{site / 'host_vars' / 'matrix.yml'}:1: matrix.ansible_become_"), line


def test_an_unknown_group_is_named_at_its_own_line(site: Path) -> None:
    # `xy:` is also the end of `proxy:`, which comes first.
    path = _inventory(site, "    store:\n      ansible_host: 10.0.0.20\n    matrix:\n")
    path.write_text(
        path.read_text().replace(
            "\n  hosts:\n", "\n    xy:\n      hosts:\n        store:\n  hosts:\n"
        )
    )
    line = _refused(site)
    assert line.startswith(f"{path}:{_line(path, '    xy:')}: unknown group 'xy'"), line


def test_the_worker_group_is_named_at_its_line_not_a_comments(site: Path) -> None:
    path = site / "inventory.yml"
    text = path.read_text().replace("all:\n", "# synapse_workers: hosts for workers\nall:\n", 1)
    path.write_text(text + "    synapse_workers:\n      hosts:\n        matrix:\n")
    line = _refused(site)
    # matrix's entry in the group (the file's last line), not its others or the comment's.
    entry = len(path.read_text().splitlines())
    assert line.startswith(f"{path}:{entry}: group synapse_workers: matrix"), line


def test_a_host_range_names_only_the_hosts_it_expands_to() -> None:
    """`matrix[1:2]` is matrix1 and matrix2, not `matrixbox` (a range had been read as any
    text in its place)."""
    from wmx.site.inventory_lines import _names

    assert _names("matrix[1:2]", "matrix2")
    assert _names("web[01:03]", "web03") and not _names("web[01:03]", "web3")
    assert _names("db-[a:c]", "db-b") and not _names("db-[a:c]", "db-bb")
    assert not _names("matrix[1:2]", "matrixbox")
