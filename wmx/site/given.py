"""A value given on the command line, as an error message quotes it.

Messages quote what the operator typed (`--host X: no such host`, `FILE: cannot read
it`). Typed, pasted or scripted, such a value can hold a line break, which split the
one-line error in two, or a terminal's escape sequence (ESC [2J clears the screen),
which the terminal ran. `given` gives it back as it is when it is plain text, else as
Python writes it (quotes, `\\n`, `\\x1b`), cut to a length a line can hold.

A value read from a file named on the command line is another matter: the file may not
be the one meant (`wmx user import secrets.yml`), and its line a secret. `unquoted`
takes such values out of a message.
"""

from __future__ import annotations

import re

MAX_SHOWN = 200

# A value as Python's repr and ruamel quote it: '…' or "…", escapes included.
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.DOTALL)


def given(value: object) -> str:
    text = str(value)
    if text.isprintable() and len(text) <= MAX_SHOWN:
        return text
    shown = repr(text[:MAX_SHOWN])
    return shown if len(text) <= MAX_SHOWN else f"{shown}…"


def unquoted(message: str) -> str:
    """A check's message about a value read from a file without the value: `'x' is not
    an e-mail address (…)` → `not an e-mail address (…)`, and any other quoted text
    (`found undefined alias 'x'`) → `…`."""
    text = re.sub(rf"^(?:{_QUOTED.pattern}) is ", "", message, flags=re.DOTALL)
    return _QUOTED.sub("…", text)
