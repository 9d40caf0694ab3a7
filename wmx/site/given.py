"""A value given on the command line, as an error message quotes it.

Messages quote what the operator typed (`--host X: no such host`, `FILE: cannot read
it`). Typed, pasted or scripted, such a value can hold a line break, which split the
one-line error in two, or a terminal's escape sequence (ESC [2J clears the screen),
which the terminal ran. `given` gives it back as it is when it is plain text, else as
Python writes it (quotes, `\\n`, `\\x1b`), cut to a length a line can hold.
"""

from __future__ import annotations

MAX_SHOWN = 200


def given(value: object) -> str:
    text = str(value)
    if text.isprintable() and len(text) <= MAX_SHOWN:
        return text
    shown = repr(text[:MAX_SHOWN])
    return shown if len(text) <= MAX_SHOWN else f"{shown}…"
