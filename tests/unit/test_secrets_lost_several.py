"""A secrets.yml that lost several generated secrets at once (emptied, truncated) is
named whole, and the one command it names brings the site back: naming the first only
sent the operator from one `wmx secrets rotate` refusal to the next."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tests.unit.hostile2_support import init_site
from wmx.cli import app

runner = CliRunner()


def _site(tmp_path: Path) -> Path:
    return init_site(tmp_path / "site")


def _validate(site: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--site", str(site), "config", "validate"])
    return result.exit_code, result.stderr


def test_an_emptied_secrets_file_names_every_secret_and_one_command_restores_it(
    tmp_path: Path,
) -> None:
    site = _site(tmp_path)
    (site / "secrets.yml").write_text("")
    status, said = _validate(site)
    assert status == 2 and said.count("\n") == 1
    command = re.search(r"`(wmx secrets rotate [^`]+)`", said)
    assert command, said
    names = command.group(1).split()[3:]
    assert len(names) > 1 and "macaroon_secret_key" in names

    rotated = runner.invoke(app, ["--site", str(site), "secrets", "rotate", *names, "--yes"])
    assert rotated.exit_code == 0, rotated.output
    assert _validate(site)[0] == 0


def test_two_secrets_rotated_in_one_command_both_change(tmp_path: Path) -> None:
    site = _site(tmp_path)
    before = (site / "secrets.yml").read_text()
    names = ["macaroon_secret_key", "form_secret"]
    rotated = runner.invoke(app, ["--site", str(site), "secrets", "rotate", *names, "--yes"])
    assert rotated.exit_code == 0, rotated.output
    after = (site / "secrets.yml").read_text()
    for name in names:
        line = re.compile(rf"^{name}: .*$", re.MULTILINE)
        assert line.search(before) and line.search(after)
        assert line.search(before).group(0) != line.search(after).group(0)  # type: ignore[union-attr]


def test_one_lost_secret_is_still_named_at_its_line(tmp_path: Path) -> None:
    site = _site(tmp_path)
    path = site / "secrets.yml"
    path.write_text(re.sub(r"^form_secret: .*$", "form_secret: ''", path.read_text(), flags=re.M))
    status, said = _validate(site)
    assert status == 2
    assert re.search(r"secrets\.yml:\d+: form_secret is empty", said), said
    assert "`wmx secrets rotate form_secret`" in said
