"""`wmx lab` as an operator meets it without root: one clear line, non-zero exit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wmx.cli import app


@pytest.mark.parametrize("argv", [["up"], ["up", "--hosts", "2"], ["status"], ["down"]])
def test_every_command_needs_root(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = CliRunner().invoke(app, ["lab", *argv])
    assert result.exit_code == 1
    assert "wmx lab needs root: it creates network namespaces and boots containers" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_host_count_is_checked() -> None:
    result = CliRunner().invoke(app, ["lab", "up", "--hosts", "0"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--on", "lab1"], "--on places a site: give --site DIR"),
        (["up", "--site", ".", "--hosts", "2", "--on", "lab3"], "--on lab3: not one of lab1..lab2"),
        (["up", "--site", ".", "--on", "web1"], "--on web1: not one of lab1..lab1"),
    ],
)
def test_site_hosts_are_checked_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    # A non-root run that gets past the checks would say so: the checks come first.
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = CliRunner().invoke(app, ["lab", *argv])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_site_hosts_keep_the_order_given() -> None:
    from wmx.errors import InputError
    from wmx.lab import LabHost
    from wmx.ops.lab_glue import site_hosts

    started = [
        LabHost(name=f"lab{i}", address=f"10.213.0.{10 + i}", running=True) for i in (1, 2, 3)
    ]
    assert site_hosts(started, []) == started
    assert [h.name for h in site_hosts(started, ["lab3", "lab2"])] == ["lab3", "lab2"]
    with pytest.raises(InputError, match="lab4: not a host of this lab"):
        site_hosts(started, ["lab4"])
    with pytest.raises(InputError, match="twice"):
        site_hosts(started, ["lab2", "lab2"])
