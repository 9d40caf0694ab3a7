"""README's quick start as a newcomer meets it (session 11's run of scripts/demo on a
fresh clone): the demo installs wmx into the checkout's .venv, which is on nobody's PATH,
so README and the demo's last lines say where `wmx` is; and every `wmx` command the demo
runs or tells its reader to run exists with those options."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_docs_truth import problems_of

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "scripts/demo").read_text()


def _demo_commands() -> list[str]:
    """The demo's `"$wmx" …` lines and the `$wmx …` lines of its closing message."""
    found = []
    for line in DEMO.splitlines():
        line = re.sub(r'"\$wmx"', "$wmx", line.strip())
        line = re.sub(r'"[^"]*"|\$(?!wmx)[a-z]+', "X", line)  # "$site", "admin-$(date …)"
        match = re.match(r"^(?:trust=\$\(|Stop: )?\$wmx (.*?)(?:\s*\|.*|\s+\(.*)?$", line)
        if match:
            found.append("wmx " + match.group(1))
    return found


def test_readme_says_where_the_demo_installs_wmx() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.partition("## Quick start")[2].partition("\n## ")[0]
    assert ".venv/bin" in quick, "README's quick start: where is `wmx` after scripts/demo?"
    assert re.search(
        r"^\.venv/bin/pip install .* -e '\.", (ROOT / "scripts/setup").read_text(), re.M
    )


def test_the_demo_ends_by_saying_how_to_run_wmx_on_its_site() -> None:
    message = DEMO.partition("cat <<MSG")[2]
    assert "$wmx status" in message and "$wmx user list" in message
    assert "doctor --ca-file $trust" in message  # without the lab CA every HTTPS check fails
    assert "cd $PWD/$site" in message and "lab down" in message


def test_every_wmx_command_of_the_demo_parses() -> None:
    commands = _demo_commands()
    assert len(commands) >= 8, commands
    wrong = [f"{c}: {p}" for c in commands for p in problems_of(c)]
    assert not wrong, "\n".join(wrong)
