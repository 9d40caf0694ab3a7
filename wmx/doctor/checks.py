"""A doctor's finding: plain data that the CLI prints as a line (or as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Side = Literal["outside", "inside"]

# What puts a host back as wmx renders it: a deploy, which also converges again a
# component with a file edited by hand on a host and names the file (wmx.ops.drift).
# `wmx diff` compares with the last deploy, not with the hosts.
DEPLOY = "run `wmx deploy` (it also puts back files edited by hand on the hosts)"


@dataclass(frozen=True)
class Check:
    """One check: what was looked at, whether it is right, and what to change if not.

    `id` is stable (scripts and `--skip` use it); a per-host or per-endpoint check
    carries its subject after a colon (`clock:lab1`, `tls:matrix.example.org:8448`).
    """

    id: str
    title: str
    ok: bool
    detail: str
    fix: str = ""
    side: Side = "outside"

    @property
    def kind(self) -> str:
        """The id without its subject: what `--skip` matches."""
        return self.id.split(":", 1)[0]


def passed(id: str, title: str, detail: str, side: Side = "outside") -> Check:
    return Check(id, title, True, detail, "", side)


def failed(id: str, title: str, detail: str, fix: str, side: Side = "outside") -> Check:
    return Check(id, title, False, detail, fix, side)


@dataclass
class Report:
    server_name: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "server_name": self.server_name,
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
        }
