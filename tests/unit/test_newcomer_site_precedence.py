"""Which site a command works on: `--site`, else $WMX_SITE, else the current directory
(or the nearest parent holding wmx.yaml). README had listed the current directory first,
which reads as if it won; a newcomer with $WMX_SITE exported who changes into another
site's directory works on the exported one. The documents say the order the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wmx.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _server_name(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(app, [*args, "config", "get", "server_name"], env=env)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_site_option_then_environment_then_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("here", "exported", "given"):
        init = ["init", str(tmp_path / name), "--defaults", "--server-name", f"{name}.test"]
        assert CliRunner().invoke(app, init).exit_code == 0
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.delenv("WMX_SITE", raising=False)
    exported = {"WMX_SITE": str(tmp_path / "exported")}
    assert _server_name([], {}) == "here.test"
    assert _server_name([], exported) == "exported.test"
    assert _server_name(["--site", str(tmp_path / "given")], exported) == "given.test"


@pytest.mark.parametrize("doc", ["README.md", "docs/admin.md"])
def test_the_documents_give_that_order(doc: str) -> None:
    text = " ".join((ROOT / doc).read_text().split())
    sentence = re.search(r"Every command works on the site.*?\.(?= )", text.replace("wmx.", "wmx_"))
    assert sentence, doc
    words = sentence.group(0)
    order = [words.find(w) for w in ("--site DIR", "$WMX_SITE", "current directory")]
    assert -1 not in order and order == sorted(order), words
