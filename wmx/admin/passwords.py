"""A new account password: from a file, a prompt with confirmation, or generated and
shown once. Never from argv, where `ps` and shell history would keep it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from wmx.admin.users import generate_password
from wmx.errors import InputError
from wmx.present import ask_hidden, esc
from wmx.site.given import given
from wmx.site.yamlfile import read_given_file


@dataclass(frozen=True)
class NewPassword:
    value: str
    generated: bool

    def __repr__(self) -> str:
        return f"NewPassword(<hidden>, generated={self.generated})"

    def shown(self, user_id: str) -> tuple[dict[str, str], str]:
        """What a command that set `user_id`'s password adds to its result: a generated
        password in the object for scripts, and the line that shows it once to people."""
        if not self.generated:
            return {}, ""
        line = f"  Password for {esc(user_id)}: [bold]{esc(self.value)}[/]  "
        return {"password": self.value}, line + "(shown once; pass it on now)"


_MAX_PASSWORD_FILE = 64 << 10


def read_password_file(path: Path) -> str:
    try:
        if str(path) == "-":
            text = sys.stdin.read(_MAX_PASSWORD_FILE + 1)
        else:  # never read without end (/dev/zero)
            data = read_given_file(path, "a password file", _MAX_PASSWORD_FILE)
            text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"{given(path)}: the password file is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{given(path)}: cannot read the password file ({exc.strerror})") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise InputError(f"{given(path)}: the password file is empty")
    return password


def new_password(password_file: Path | None, generate: bool, *, who: str) -> NewPassword:
    """`--password-file`, `--generate-password`, or else asked twice without echo."""
    if password_file and generate:
        raise InputError("give either --password-file or --generate-password, not both")
    if password_file:
        return NewPassword(read_password_file(password_file), generated=False)
    if generate:
        return NewPassword(generate_password(), generated=True)
    value = ask_hidden(
        f"New password for {who}",
        "give --password-file FILE ('-': standard input) or --generate-password",
    ).strip()
    if not value:
        raise InputError("the password is empty")
    return NewPassword(value, generated=False)
