"""Bulk account creation from a CSV file (`wmx user import`).

The whole file is checked before anything is sent; then each row is created unless the
account exists already, so that a re-run after a failure only does what is left.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmx.admin.client import SynapseAdmin
from wmx.admin.ids import check_new_user_id, check_plain_text
from wmx.admin.users import generate_password
from wmx.errors import InputError, WmxError
from wmx.site.given import given, unquoted
from wmx.site.model import check_email
from wmx.site.placed import open_appending
from wmx.site.yamlfile import read_given_file

COLUMNS = ("localpart", "user_id", "display_name", "email", "admin", "password")
_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off", ""}


@dataclass(frozen=True)
class ImportRow:
    line: int
    user_id: str
    display_name: str | None
    email: str | None
    admin: bool
    password: str | None

    def __repr__(self) -> str:
        return f"ImportRow(line={self.line}, user_id={self.user_id!r}, password=<hidden>)"


@dataclass
class ImportResult:
    line: int
    user_id: str
    result: str  # created | exists | failed: cause
    generated_password: str | None = None

    def __repr__(self) -> str:
        return f"ImportResult(line={self.line}, user_id={self.user_id!r}, result={self.result!r})"

    def as_dict(self, *, with_password: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"line": self.line, "user_id": self.user_id, "result": self.result}
        if with_password and self.generated_password:
            row["password"] = self.generated_password
        return row


def tally(results: Iterable[ImportResult]) -> dict[str, int]:
    """How many rows were created, already there, and failed."""
    counts = {"created": 0, "exists": 0, "failed": 0}
    for result in results:
        counts[result.result.split(":", 1)[0]] += 1
    return counts


def parse_user_csv(path: Path, server_name: str) -> list[ImportRow]:
    """Read and check every row; all problems are reported at once (exit code 2).

    The file may not be the CSV meant (`wmx user import secrets.yml`): a header cell that
    is no known column is named by its position, never quoted, and a row's values are
    quoted only in a file without a password column (an unquoted comma in a password
    moves a part of it into the next cell)."""
    try:
        text = read_given_file(path, "a CSV file", 64 << 20).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{given(path)}: cannot read: {exc}") from None
    # csv reads the line breaks itself: over text.splitlines(), a line break inside a
    # quoted cell had vanished ("two\nlines" became "twolines"), unseen by any check.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = _rows(path, reader, server_name)
    except csv.Error as exc:  # a field over csv's limit (128 KiB): no row of a CSV to import
        line = reader.reader.line_num  # DictReader's own is the last row it gave
        raise InputError(f"{given(path)}:{line}: not CSV ({exc})") from None
    if not rows:
        raise InputError(f"{given(path)}: no accounts to import")
    return rows


def _header(path: Path, reader: csv.DictReader[str]) -> list[str]:
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [n for n, h in enumerate(header, start=1) if h not in COLUMNS]
    if unknown and len(unknown) == len(header):
        raise InputError(
            f"{given(path)}:1: not a header of known columns (the line is not repeated "
            f"here); the first line names the columns: {', '.join(COLUMNS)}"
        )
    if unknown:
        said = ", ".join(f"{n}{_close(header[n - 1])}" for n in unknown)
        are = (
            "columns {} are not known columns"
            if len(unknown) > 1
            else "column {} is not a known column"
        )
        raise InputError(
            f"{given(path)}:1: {are.format(said)} (names not repeated here); "
            f"known: {', '.join(COLUMNS)}"
        )
    if "localpart" not in header and "user_id" not in header:
        raise InputError(f"{given(path)}:1: the header needs a localpart or a user_id column")
    return header


def _close(cell: str) -> str:
    """` (display_name?)` for a cell that looks like a known column: said by the known
    name, so that nothing of the cell is shown."""
    name = re.sub(r"[\s-]+", "_", cell.strip().lower())
    close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)
    return f" ({close[0]}?)" if close else ""


def _rows(path: Path, reader: csv.DictReader[str], server_name: str) -> list[ImportRow]:
    header = _header(path, reader)
    quoted = "password" not in header
    rows: list[ImportRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        where = f"{given(path)}:{line}"
        if None in raw:  # more cells than columns
            problems.append(
                f"{where}: {len(header) + len(raw[None])} values for {len(header)} columns "
                "(a value holding a comma must be in double quotes)"
            )
            continue
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        column = "user_id" if values.get("user_id") else "localpart"
        try:
            # A NUL had reached Synapse, which answered 500 for the row; a line break or
            # ESC would reach every client that shows the name.
            for name in COLUMNS:
                if any(brk in values.get(name, "") for brk in "\r\n"):
                    raise ValueError(
                        f"{name}: a line break inside double quotes (is a closing quote "
                        "missing?); a cell is one line"
                    )
                _checked(name, check_plain_text, values.get(name, ""))
            user_id = _checked(column, check_new_user_id, values.get(column, ""), server_name)
            email = values.get("email")
            email = _checked("email", check_email, email) if email else None
            admin = values.get("admin", "").lower()
            if admin not in _TRUE | _FALSE:
                raise ValueError(f"admin: {values['admin']!r} is not yes or no")
        except ValueError as exc:
            problems.append(f"{where}: {exc if quoted else _hidden(str(exc))}")
            continue
        if user_id in seen:
            problems.append(f"{where}: {user_id} is already on line {seen[user_id]}")
            continue
        seen[user_id] = line
        rows.append(
            ImportRow(
                line=line,
                user_id=user_id,
                display_name=values.get("display_name") or None,
                email=email,
                admin=admin in _TRUE,
                password=values.get("password") or None,
            )
        )
    if problems:
        why = "" if quoted else " (values not repeated here: the file has a password column)"
        raise InputError([*problems, f"nothing was imported; fix these lines{why}"])
    return rows


def _checked(column: str, check: Callable[..., str], value: str, *args: str) -> str:
    try:
        return check(value, *args)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


def _hidden(problem: str) -> str:
    """`column: 'value' is not …` as `column: not …`."""
    column, _, message = problem.partition(": ")
    return f"{column}: {unquoted(message)}"


def import_users(
    admin: SynapseAdmin, rows: list[ImportRow], passwords_out: Path | None
) -> list[ImportResult]:
    """Create each row's account unless it exists. `passwords_out` is opened before the
    first account is made (refused when it is a link, a FIFO, a device or readable by
    others: wmx.site.placed), and each generated password is on disk before the next row."""
    sink = None
    if passwords_out and any(not row.password for row in rows):
        sink = open_appending(passwords_out, "generated passwords are appended to a private file")
    try:
        return _import(admin, rows, passwords_out, sink)
    finally:
        if sink is not None:
            os.close(sink)


def _import(
    admin: SynapseAdmin, rows: list[ImportRow], out: Path | None, sink: int | None
) -> list[ImportResult]:
    results: list[ImportResult] = []
    for row in rows:
        try:
            if admin.users.exists(row.user_id):
                results.append(ImportResult(row.line, row.user_id, "exists"))
                continue
            password = row.password or generate_password()
            admin.users.create(
                row.user_id,
                password,
                admin=row.admin,
                displayname=row.display_name,
                email=row.email,
            )
        except WmxError as exc:
            results.append(ImportResult(row.line, row.user_id, f"failed: {exc}"))
            continue
        generated = None if row.password else password
        results.append(ImportResult(row.line, row.user_id, "created", generated))
        if generated and sink is not None:
            append_password(sink, out, row.user_id, generated)
    return results


def append_password(sink: int, path: Path | None, user_id: str, password: str) -> None:
    """Append `user_id,password` to the open file `sink` (`path`) and flush it to disk. A
    write that fails leaves the account without a known password: said, with what to do."""
    line = io.StringIO()
    csv.writer(line).writerow([user_id, password])
    data = line.getvalue().encode("utf-8")
    try:
        while data:
            data = data[os.write(sink, data) :]
        os.fsync(sink)
    except OSError as exc:
        raise WmxError(
            f"{given(path)}: cannot be written ({exc.strerror or exc}): {user_id} was created "
            f"but its generated password is lost; set one with `wmx user reset-password "
            f"{user_id}` (the rows before it are in the file, the rows after it not imported)"
        ) from None
