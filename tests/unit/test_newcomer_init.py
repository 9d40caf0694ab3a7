"""`wmx init` as a newcomer meets it: a directory that already holds part of a site (or
a .gitignore of its own) loses nothing, a refused name says what to type instead, and
the next steps say that the inventory's address is still a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app
from wmx.ops.init_site import name_hint
from wmx.site.placeholder import is_placeholder

runner = CliRunner()


def _init(site: Path, *more: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["init", str(site), "--defaults", "--server-name", "example.test", *more]
    )
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


@pytest.mark.parametrize("present", ["inventory.yml", "wmx.yaml", "secrets.yml"])
def test_init_never_overwrites_a_file_of_a_site(tmp_path: Path, present: str) -> None:
    (tmp_path / present).write_text("mine: 1\n")
    code, _, err = _init(tmp_path)
    assert code == 2
    assert f"already holds a site ({present})" in err and "never overwrites" in err
    if present == "wmx.yaml":
        assert f"wmx --site {tmp_path} config set KEY VALUE" in err
    else:  # no wmx.yaml: `config set` cannot help
        assert "config set KEY" not in err and "move them away" in err
    assert (tmp_path / present).read_text() == "mine: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [present]


def test_init_keeps_the_directory_s_own_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("notes/\nbuild/")
    code, _, err = _init(tmp_path)
    assert code == 0, err
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["notes/", "build/"]
    assert "secrets.yml" in lines and lines.count("build/") == 1


@pytest.mark.parametrize(
    ("typed", "advice"),
    [
        ("https://example.org/", "give the name alone: 'example.org'"),
        ("example.org:8448", "homeserver.federation_port"),
        ("localhost", "a name in public DNS"),
        ("192.0.2.5", "not an address"),
        ("2001:db8::1", "not an address"),
        ("bücher.example", "'xn--bcher-kva.example'"),
    ],
)
def test_a_refused_server_name_says_what_to_type(tmp_path: Path, typed: str, advice: str) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "s"), "--defaults", "--server-name", typed])
    err = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert "is not a DNS host name" in err and advice in err
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_a_name_hint_is_only_given_where_it_helps() -> None:
    assert name_hint("bad_name.org") == ""
    assert name_hint("-x.org") == ""


def test_the_next_steps_name_the_placeholder_address(tmp_path: Path) -> None:
    code, out, _ = _init(tmp_path / "s")
    assert code == 0
    assert "ansible_host: 203.0.113.10 is a placeholder" in out
    assert f"`cd {tmp_path / 's'}`" in out
    code, out, _ = _init(tmp_path / "t", "--host-address", "10.1.2.3")
    assert code == 0 and "placeholder" not in out


def test_documentation_addresses_are_placeholders() -> None:
    assert is_placeholder("203.0.113.10") and is_placeholder("2001:db8::5")
    assert is_placeholder("198.51.100.1") and is_placeholder("192.0.2.200")
    assert not is_placeholder("10.0.0.1") and not is_placeholder("matrix.example.org")
