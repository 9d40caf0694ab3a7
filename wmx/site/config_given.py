"""`wmx config set KEY VALUE` refused: an error about KEY (or a key under it, for a
mapping merged in) is about the value given on the command line, so it names no line of
wmx.yaml (the value is not there: nothing was written); an error about another key
keeps its file and line, which is where that key's value is."""

from __future__ import annotations

from pathlib import Path

from wmx.errors import InputError


def _about(rest: str, key: str) -> bool:
    """Whether an error's text (after `file:line: `) is about `key` or a key under it."""
    return rest.startswith(key) and rest[len(key) : len(key) + 1] in ("", ":", " ", ".", "[")


def given_value_error(error: InputError, path: Path, key: str) -> InputError:
    """`error` (wmx.site.validation's lines, `file[:line]: key: message`) with each
    line about `key` said as the command line's value."""
    lines = []
    for line in error.lines:
        where, sep, rest = line.partition(": ")
        file, _, number = where.partition(":")
        if sep and file == str(path) and (not number or number.isdigit()) and _about(rest, key):
            line = f"given on the command line: {rest}; {path.name}: unchanged"
        lines.append(line)
    return InputError(lines)
