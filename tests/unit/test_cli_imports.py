"""`wmx --help`, `wmx GROUP --help` and shell completion load only the command tree:
never the admin client (httpx), the renderer (jinja2), the site model (pydantic), the
lab or Ansible. One subprocess runs the real entry point once per command line, in turn,
and reports which heavy modules each one loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# A top-level package that must stay unloaded, or a wmx subpackage.
HEAVY = (
    "httpx",
    "jinja2",
    "pydantic",
    "ansible",
    "ansible_runner",
    "ruamel",
    "wmx.admin",
    "wmx.render",
    "wmx.site",
    "wmx.lab",
    "wmx.run",
    "wmx.ops",
    "wmx.backup",
    "wmx.status",
    "wmx.irc",
    "wmx.grafana",
    "wmx.components",
)

# Runs `wmx ARGS` (with extra environment) for each case; prints, per case, the heavy
# modules loaded so far. Output of the commands themselves goes to /dev/null.
WRAPPER = """
import json, os, sys
heavy, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
real = sys.stdout
report = []
for args, env in cases:
    os.environ.update(env)
    sys.argv = ["wmx", *args]
    sys.stdout = open(os.devnull, "w")
    try:
        from wmx.cli import main
        main()
    except SystemExit:
        pass
    finally:
        sys.stdout = real
        for key in env:
            del os.environ[key]
    report.append(sorted(
        m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
    ))
print(json.dumps(report))
"""

GROUPS = [
    "user", "room", "media", "regtoken", "notice", "reports", "admin", "backup", "irc",
    "lab", "config", "monitoring", "secrets",
]  # fmt: skip
COMMANDS = [
    ["user", "list"], ["deploy"], ["render"], ["diff"], ["logs"], ["init"], ["status"], ["doctor"],
]  # fmt: skip


def _completion(words: str) -> tuple[list[str], dict[str, str]]:
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    return [], {"_WMX_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}


def _run(cases: list[tuple[list[str], dict[str, str]]]) -> list[list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(HEAVY), json.dumps(cases)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        timeout=120,
        check=True,
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_top_level_help_imports_nothing_heavy() -> None:
    assert _run([(["--help"], {})]) == [[]]


def test_group_help_and_completion_import_nothing_heavy() -> None:
    cases = [
        _completion("wmx us"),
        _completion("wmx user l"),
        _completion("wmx room list --s"),
        *(([group, "--help"], {}) for group in GROUPS),
        *(([*command, "--help"], {}) for command in COMMANDS),
    ]
    loaded = _run(cases)
    # Typer itself imports pydantic to build the parameters of the commands it is about
    # to show (typer._adapters); wmx's own pydantic models (wmx.site) stay unloaded.
    for (args, env), modules in zip(cases, loaded, strict=True):
        mine = [m for m in modules if not m.startswith("pydantic")]
        assert mine == [], f"wmx {' '.join(args) or env.get('COMP_WORDS')} loaded {mine}"


def test_constants_written_out_for_help_match_their_source() -> None:
    from wmx.cli import init, lab
    from wmx.lab.addressing import MAX_HOSTS
    from wmx.site.model import LETS_ENCRYPT_DIRECTORY

    assert lab.MAX_HOSTS == MAX_HOSTS
    assert init.LETS_ENCRYPT_DIRECTORY == LETS_ENCRYPT_DIRECTORY
