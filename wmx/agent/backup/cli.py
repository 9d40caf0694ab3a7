"""The command line of wmx-backup (see the package's docstring)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import __doc__ as package_doc
from .config import Failure
from .job import cmd_run
from .repositories import cmd_export_key, cmd_init, cmd_list, cmd_status
from .restore import (
    cmd_db_facts,
    cmd_export_tar,
    cmd_extract,
    cmd_facts,
    cmd_probe,
    cmd_receive,
    cmd_resolve,
    cmd_restore_db,
    cmd_restore_files,
    cmd_verify_media,
)
from .services import cmd_clean_restore, cmd_start_services, cmd_stop_services

Command = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    description = (package_doc or "wmx-backup").splitlines()[0]
    top = argparse.ArgumentParser(prog="wmx-backup", description=description)
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--events", action="store_true", help="JSON lines on stdout")
    run.add_argument("--label", help="appended to the archive's name (e.g. an upgrade's)")
    run.set_defaults(func=cmd_run)
    simple: tuple[tuple[str, Command], ...] = (
        ("init", cmd_init),
        ("list", cmd_list),
        ("status", cmd_status),
        ("stop-services", cmd_stop_services),
        ("clean-restore", cmd_clean_restore),
    )
    for name, func in simple:
        sub.add_parser(name).set_defaults(func=func)
    key = sub.add_parser("export-key")
    key.add_argument("--repo")
    key.add_argument("--paper", action="store_true")
    key.set_defaults(func=cmd_export_key)
    archives: tuple[tuple[str, Command], ...] = (
        ("resolve", cmd_resolve),
        ("extract", cmd_extract),
        ("export-tar", cmd_export_tar),
        ("probe", cmd_probe),
    )
    for name, func in archives:
        cmd = sub.add_parser(name)
        cmd.add_argument("--repo")
        cmd.add_argument("--archive", default="latest")
        if name == "extract":
            cmd.add_argument("--to", required=True)
        cmd.set_defaults(func=func)
    receive = sub.add_parser("receive")
    receive.add_argument("--to", required=True)
    receive.set_defaults(func=cmd_receive)
    unpacked: tuple[tuple[str, Command], ...] = (
        ("restore-db", cmd_restore_db),
        ("restore-files", cmd_restore_files),
        ("verify-media", cmd_verify_media),
    )
    for name, func in unpacked:
        cmd = sub.add_parser(name)
        cmd.add_argument("--from", dest="source", required=True)
        cmd.set_defaults(func=func)
    facts = sub.add_parser("facts")
    facts.add_argument("--from", dest="source")
    facts.set_defaults(func=cmd_facts)
    db = sub.add_parser("db-facts")
    db.add_argument("--dump-to")
    db.set_defaults(func=cmd_db_facts)
    start = sub.add_parser("start-services")
    start.add_argument("--timeout", type=int, default=180)
    start.add_argument("--timer", action="store_true", help="start the backup timer too")
    start.set_defaults(func=cmd_start_services)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    func: Command = args.func
    try:
        return int(func(args))
    except Failure as error:
        print(f"wmx-backup: {error}", file=sys.stderr)
        return 1
