"""docs/production.md as the lab walks it (tests/e2e/test_production.py).

The document's numbered steps (`## N. title`) hold its commands in ```sh blocks; the
lab runs every line of them, in order, after a small substitution of the VPS's names
and addresses for the lab's (`LabNames`, described in the document's lab section). An
unlabelled block right under an ```sh block is what its last command (`cd` aside) prints: each of
its lines must appear in what the command printed, `…` standing for anything (tables,
prompts and lines that are only `…` are not compared). A step with a line
`*Lab rehearsal: not run …*` is not walked (it needs what the lab does not have).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "production.md"

# What the document writes for the VPS, replaced by the lab's.
DOC_SERVER_NAME = "example.org"
DOC_ADDRESS = "203.0.113.10"
DOC_HOST = "matrix"  # the inventory's name for the VPS

STEP = re.compile(r"^## (\d+)\. (.+)$")
FENCE = re.compile(r"^```(\S*)")
NOT_RUN = re.compile(r"^\*Lab rehearsal: not run\b")
TABLE = "┃┏┡│└┗━"


@dataclass
class Block:
    commands: list[str]
    printed: list[str] = field(default_factory=list)

    @property
    def shows(self) -> str:
        """The command whose output ``printed`` shows: the last one that is not a `cd`."""
        return [c for c in self.commands if not c.startswith("cd ")][-1]


@dataclass
class Step:
    number: int
    title: str
    walked: bool = True
    blocks: list[Block] = field(default_factory=list)
    yaml: list[str] = field(default_factory=list)


def steps(text: str | None = None) -> dict[int, Step]:
    """The numbered steps of ``text`` (docs/production.md), by number."""
    lines = (DOC.read_text() if text is None else text).splitlines()
    found: dict[int, Step] = {}
    step: Step | None = None
    after_sh = False  # only blank lines since the end of an ```sh block
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("## "):
            match = STEP.match(line)
            step = Step(int(match[1]), match[2]) if match else None
            if step is not None:
                assert step.number not in found, f"step {step.number} twice"
                found[step.number] = step
            after_sh = False
            continue
        fence = FENCE.match(line)
        if fence is None:
            if step is not None and NOT_RUN.match(line):
                step.walked = False
            after_sh = after_sh and not line.strip()
            continue
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        language = fence[1]
        if step is None:
            after_sh = False
        elif language == "sh":
            commands = [c for c in body if c.strip() and not c.lstrip().startswith("#")]
            step.blocks.append(Block(commands))
            after_sh = True
            continue
        elif language == "yaml":
            step.yaml.append("\n".join(body))
        elif language == "" and after_sh:
            step.blocks[-1].printed = body
        after_sh = False
    return found


def _collapse(text: str) -> str:
    return " ".join(text.split())


def compared(printed: list[str]) -> list[str]:
    """The lines of an output block that are compared with what was printed."""
    return [
        line
        for line in printed
        if line.strip().strip("…").strip()
        and line.lstrip()[:1] not in TABLE
        and not line.rstrip().endswith(":")
    ]


def appears(expected: str, output: str) -> bool:
    """Whether ``expected`` (`…` standing for anything) is in ``output``, whitespace
    runs counting as one space."""
    pieces = [p.strip() for p in _collapse(expected).split("…")]
    position = 0
    text = _collapse(output)
    for piece in pieces:
        if not piece:
            continue
        found = text.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


@dataclass(frozen=True)
class LabNames:
    """The documented substitution: the lab's server name, its host's address and its
    inventory name for the document's `example.org`, `203.0.113.10` and `matrix`."""

    server_name: str
    address: str
    host: str

    def command(self, line: str) -> str:
        return line.replace(DOC_SERVER_NAME, self.server_name).replace(DOC_ADDRESS, self.address)

    def printed(self, line: str) -> str:
        # `matrix` as the inventory's host name, not as in matrix.example.org.
        return self.command(re.sub(rf"\b{DOC_HOST}\b(?![.\w-])", self.host, line))
