"""`--site SITE/wmx.yaml` (or $WMX_SITE) stands for the site's directory; another file
is refused in one line saying to give the directory (exit 2). It was click's
"Directory 'SITE/wmx.yaml' is a file." for --site, and for $WMX_SITE "no wmx.yaml here"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    made = runner.invoke(app, ["init", f"{tmp_path}/s", "--defaults", "--server-name", "a.org"])
    assert made.exit_code == 0, made.output
    return tmp_path / "s"


def test_the_config_file_names_its_site(site: Path) -> None:
    by_option = runner.invoke(
        app, ["--site", str(site / "wmx.yaml"), "config", "get", "server_name"]
    )
    assert (by_option.exit_code, by_option.stdout) == (0, "a.org\n"), by_option.output
    by_env = runner.invoke(
        app, ["config", "get", "server_name"], env={"WMX_SITE": str(site / "wmx.yaml")}
    )
    assert (by_env.exit_code, by_env.stdout) == (0, "a.org\n"), by_env.output


def test_another_file_is_refused_saying_what_to_give(site: Path) -> None:
    other = site / "inventory.yml"
    result = runner.invoke(app, ["--site", str(other), "config", "validate"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --site {other}: a file, not a site's directory: give the directory that "
        "holds wmx.yaml (SITE, or SITE/wmx.yaml)\n"
    )
    by_env = runner.invoke(app, ["config", "validate"], env={"WMX_SITE": str(other)})
    assert by_env.exit_code == 2 and by_env.stderr.startswith(f"error: $WMX_SITE {other}: a file")


def test_lab_up_takes_the_same_site(site: Path) -> None:
    from wmx.ops.lab_glue import lab_site

    assert lab_site(site / "wmx.yaml", None) == site  # `wmx lab up --site SITE/wmx.yaml`
    assert lab_site(None, str(site / "wmx.yaml")) == site  # `wmx --site SITE/wmx.yaml lab up`
    assert lab_site(site, None) == site


def test_lab_up_never_repoints_a_site_it_was_not_given(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pointing rewrites a site's inventory and ACME settings: an exported $WMX_SITE or a
    site above the current directory is left alone, and said so (the other commands
    take either)."""
    from wmx.ops.lab_glue import lab_site

    below = site / "build"
    below.mkdir()
    monkeypatch.chdir(below)
    monkeypatch.delenv("WMX_SITE", raising=False)
    assert lab_site(None, None) is None
    assert f"note: the site {site} is left as it is; `wmx lab up --site {site}`" in (
        " ".join(capsys.readouterr().err.split())
    )
    monkeypatch.setenv("WMX_SITE", str(site))
    monkeypatch.chdir(site.parent)
    assert lab_site(None, None) is None
    assert "left as it is" in capsys.readouterr().err


def test_a_loop_of_links_is_refused_in_one_line(tmp_path: Path) -> None:
    """--site naming a link to itself was a traceback on Python 3.11 (its resolve()
    raises RuntimeError for ELOOP, not OSError)."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for argv, env in ((["--site", str(loop)], {}), ([], {"WMX_SITE": str(loop)})):
        result = runner.invoke(app, [*argv, "config", "validate"], env=env)
        assert result.exit_code == 2, result.output
        # On 3.12+ resolve() lets the loop through, to "no wmx.yaml here": one line too.
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: ") and str(loop) in line
