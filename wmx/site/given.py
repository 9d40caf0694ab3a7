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
# Quoted text that holds no value, kept by `unquoted`: one character, as Python writes
# it (YAML's `found character '\\t' that cannot start any token`, `expected ',' or ']'`),
# or a YAML token's name (`'<block end>'`). Without them a tab or an unclosed list is not
# said, and neither can carry a secret.
_NO_VALUE = re.compile(
    r"""[^\\]|\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[^xuUN])"""
    r"|<(?:alias|anchor|block end|block (?:mapping|sequence) start|comment|directive"
    r"|document (?:end|start)|scalar|stream (?:end|start)|tag)>"
)


def given(value: object) -> str:
    text = str(value)
    # An empty value is shown as '' (else `--to : no such host` names nothing).
    if text and text.isprintable() and len(text) <= MAX_SHOWN:
        return text
    shown = repr(text[:MAX_SHOWN])
    return shown if len(text) <= MAX_SHOWN else f"{shown}…"


def unquoted(message: str) -> str:
    """A check's message about a value read from a file without the value: `'x' is not
    an e-mail address (…)` → `not an e-mail address (…)`, and any other quoted text
    (`found undefined alias 'x'`) → `…`, but for what holds no value (`_NO_VALUE`)."""
    text = re.sub(rf"^(?:{_QUOTED.pattern}) is ", "", message, flags=re.DOTALL)
    return _QUOTED.sub(_shown_or_not, text)


def _shown_or_not(quoted: re.Match[str]) -> str:
    return quoted[0] if _NO_VALUE.fullmatch(quoted[0][1:-1]) else "…"
