"""The host's steps of `wmx backup restore` and `wmx backup drill`: find an archive,
read or unpack it, put the database and files back, check them."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .borg import archive_ref, borg, borg_error
from .config import Config, Failure, load_config, load_json, locked, write_atomically
from .facts import DUMP_FILE, db_facts, db_facts_in_process, signing_key_facts, verify_media


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return path


def inside(root: Path, absolute: str) -> Path:
    """Where the host path `absolute` is in an unpacked archive at `root`."""
    return root / absolute.lstrip("/")


def archive_parts(config: Config) -> dict[str, str]:
    """Each part of an archive that a restore needs → its path inside the archive."""
    staging = config["staging_dir"].lstrip("/")
    parts = {
        "database dump": f"{staging}/db/{DUMP_FILE}",
        "facts": f"{staging}/facts.json",
        "media checksums": f"{staging}/media.sha256",
        "signing key": config["signing_key"].lstrip("/"),
    }
    for directory in config["media_dirs"]:
        parts[f"media {Path(directory).name}"] = directory.lstrip("/")
    parts["configuration"] = "etc"
    return parts


def cmd_resolve(args: argparse.Namespace) -> int:
    config = load_config()
    ref = archive_ref(config, args.repo, args.archive)
    print(json.dumps({"archive": ref.rsplit("::", 1)[1]}))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """Read each part of an archive (to nowhere): which parts borg can no longer read."""
    config = load_config()
    ref = archive_ref(config, args.repo, args.archive)
    results = {}
    for name, path in archive_parts(config).items():
        rc, _, stderr = borg(
            ["extract", "--stdout", ref, path], check=False, stdout=subprocess.DEVNULL
        )
        results[name] = "readable" if rc in (0, 1) else f"damaged: {borg_error(stderr)}"
    print(json.dumps(results))
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    config = load_config()
    with locked(config):
        ref = archive_ref(config, args.repo, args.archive)
        target = fresh_dir(Path(args.to))
        borg(["extract", ref], cwd=target)
    print(json.dumps({"archive": ref.rsplit("::", 1)[1], "to": str(target)}))
    return 0


def cmd_export_tar(args: argparse.Namespace) -> int:
    config = load_config()
    ref = archive_ref(config, args.repo, args.archive)
    sys.stdout.flush()
    borg(["export-tar", ref, "-"], stdout=sys.stdout.buffer)
    return 0


def cmd_receive(args: argparse.Namespace) -> int:
    target = fresh_dir(Path(args.to))
    tar = ["tar", "-x", "--same-owner", "--same-permissions", "-C", str(target), "-f", "-"]
    if subprocess.run(tar).returncode != 0:
        raise Failure("could not unpack the archive stream (tar failed)")
    print(json.dumps({"to": str(target)}))
    return 0


def psql(sql: str, database: str = "postgres") -> str:
    argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-q",
            "-v", "ON_ERROR_STOP=1", "-d", database]  # fmt: skip
    proc = subprocess.run(argv, input=sql, capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        raise Failure(f"psql failed: {proc.stderr.strip()[-400:]}")
    return proc.stdout.strip()


def cmd_restore_db(args: argparse.Namespace) -> int:
    config = load_config()
    if not config["database"]["local"]:
        raise Failure("the database is on another host: restore it there (docs/backup.md)")
    dump = inside(Path(args.source), config["staging_dir"]) / "db" / DUMP_FILE
    if not dump.is_file():
        raise Failure(f"the archive holds no database dump ({DUMP_FILE})")
    name = config["database"]["name"]
    with locked(config):
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
        # Synapse requires C collation and ctype; only template0 may be copied with them.
        psql(
            f"CREATE DATABASE \"{name}\" OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' "
            "LC_CTYPE 'C' TEMPLATE template0;",
        )
        with open(dump, "rb") as handle:
            proc = subprocess.run(
                ["runuser", "-u", "postgres", "--", "pg_restore", "--exit-on-error",
                 "--no-password", "-d", name],
                stdin=handle, capture_output=True, text=True, cwd="/",
            )  # fmt: skip
        if proc.returncode != 0:
            raise Failure(f"pg_restore failed: {proc.stderr.strip()[-400:]}")
        psql("TRUNCATE e2e_one_time_keys_json; ANALYZE;", name)
        collation = psql(
            f"SELECT datcollate || '/' || datctype FROM pg_database WHERE datname = '{name}';"
        )
    print(json.dumps({"database": name, "collation": collation}))
    return 0


def copy_owned(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest, follow_symlinks=False)
    info = src.lstat()
    os.lchown(dest, info.st_uid, info.st_gid)


def restore_config_dir(src: Path, dest: Path, managed: set[str], report: dict[str, Any]) -> None:
    """Configuration files back, except those the deploy manages (only compared)."""
    for path in sorted(p for p in src.rglob("*") if not p.is_dir()):
        target = dest / path.relative_to(src)
        if str(target) in managed:
            if not target.exists() or target.read_bytes() != path.read_bytes():
                report["differs"].append(str(target))
            continue
        copy_owned(path, target)
        report["restored"].append(str(target))


def merge_history(config: Config, root: Path) -> None:
    """The archive's record of archive sizes, merged into this host's (its own wins)."""
    history = load_json(inside(root, config["staging_dir"]) / "archives.json", None)
    if not isinstance(history, dict):
        return
    path = Path(config["state_dir"]) / "archives.json"
    mine = load_json(path, {})
    for label, archives in history.items():
        known = mine.get(label, {})
        mine.setdefault(label, {}).update({k: v for k, v in archives.items() if k not in known})
    write_atomically(path, json.dumps(mine, sort_keys=True) + "\n", 0o600)


def cmd_restore_files(args: argparse.Namespace) -> int:
    """Data back in place; configuration files only where the deploy does not manage them."""
    config = load_config()
    root = Path(args.source)
    managed = set(json.loads(sys.stdin.read() or "{}").get("managed", []))
    report: dict[str, list[str]] = {"replaced": [], "restored": [], "differs": [], "missing": []}
    with locked(config):
        for absolute in config["restore_in_place"]:
            src = inside(root, absolute)
            dest = Path(absolute)
            if not os.path.lexists(src):
                report["missing"].append(absolute)
                continue
            if absolute.startswith("/etc/"):
                restore_config_dir(src, dest, managed, report)
            elif src.is_dir() and not src.is_symlink():
                if dest.exists():
                    shutil.rmtree(dest)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(src), str(dest))
                report["replaced"].append(absolute)
            else:
                copy_owned(src, dest)
                report["replaced"].append(absolute)
        merge_history(config, root)
    print(json.dumps(report, sort_keys=True))
    return 0


def cmd_verify_media(args: argparse.Namespace) -> int:
    config = load_config()
    sums = inside(Path(args.source), config["staging_dir"]) / "media.sha256"
    if not sums.is_file():
        raise Failure("the archive holds no media checksums (media.sha256)")
    print(json.dumps(verify_media(Path(config["media_store"]), sums.read_text())))
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    config = load_config()
    if args.source:
        path = inside(Path(args.source), config["staging_dir"]) / "facts.json"
        if not path.is_file():
            raise Failure("the archive holds no facts.json")
        print(path.read_text().strip())
        return 0
    facts = {
        "server_name": config["server_name"],
        "database": db_facts(config),
        "signing_key": signing_key_facts(Path(config["signing_key"])),
    }
    print(json.dumps(facts, sort_keys=True))
    return 0


def cmd_db_facts(args: argparse.Namespace) -> int:
    config = load_config()
    out = Path(args.dump_to) if args.dump_to else None
    print(json.dumps(db_facts_in_process(config, out)))
    return 0
