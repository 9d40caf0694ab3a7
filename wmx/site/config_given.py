"""`wmx config set KEY VALUE` refused: every line says the value was given on the command
line and that wmx.yaml is unchanged (nothing was written), whichever rule refused it.

An error about KEY (or a key under it, for a mapping merged in) names no line of
wmx.yaml: the value is not there. An error of a rule across keys that KEY's value broke
is said as that value refused, with the rule's own words; it keeps the line of the other
key it names (where that key's value is, which may be the one to change), but not the
line of KEY or of a section KEY is under, which holds no refused value."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from wmx.errors import InputError, printable

# How much of the value given an error quotes: a line's worth.
_SHOWN = 60


def _about(rest: str, key: str) -> bool:
    """Whether an error's text (after `file:line: `) is about `key` or a key under it."""
    return rest.startswith(key) and rest[len(key) : len(key) + 1] in ("", ":", " ", ".", "[")


def given(message: str, path: Path) -> str:
    """`message`, about the command line's value, as a refusal of `wmx config set`."""
    return f"given on the command line: {message}; {path.name}: unchanged"


def given_error(error: InputError, path: Path) -> InputError:
    """`error`, raised before anything was read or changed, as a refusal (`given`)."""
    return InputError([given(line, path) for line in error.lines])


def _shown(text: str) -> str:
    """The value as typed, on one line and at most a line's worth."""
    cut = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"
    return printable(cut)


def given_keys(key: str, value: object) -> list[str]:
    """The keys a value sets: `key`, or for a map merged in, each key it names (a rule
    about another key of the section is not about the command line's value)."""
    if not isinstance(value, dict) or not value:
        return [key]
    return [k for name, item in value.items() for k in given_keys(f"{key}.{name}", item)]


def given_value_error(
    error: InputError,
    path: Path,
    key: str,
    text: str,
    own_lines: Collection[int] = (),
    keys: Collection[str] = (),
) -> InputError:
    """`error` (wmx.site.validation's lines, `file[:line]: key: message`, and those of the
    checks beyond wmx.yaml) as the refusal of `key` set to `text`. `own_lines` are the
    lines of wmx.yaml that hold `key` and the sections it is under; `keys`, those the
    value set (given_keys; `key` itself by default)."""
    keys = keys or [key]
    lines = []
    for line in error.lines:
        where, sep, rest = line.partition(": ")
        file, _, number = where.partition(":")
        in_file = bool(sep) and file == str(path) and (not number or number.isdigit())
        if in_file and any(_about(rest, k) for k in keys):
            lines.append(given(rest, path))
        elif not in_file and any(_about(line, k) for k in keys):  # across files: no file
            lines.append(given(line, path))
        else:
            # A rule across keys: its line is kept when it is another key's.
            own = in_file and (not number or int(number) in own_lines)
            lines.append(given(f"{key} {_shown(text)} is refused: {rest if own else line}", path))
    return InputError(lines)
