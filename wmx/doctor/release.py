"""Is the deployed Synapse more than a security release behind the newest on PyPI?

Synapse ships security fixes as patch releases (1.x.y+1). A site one patch release
behind the newest is warned of but passes; anything more (two releases, or a newer
minor or major version) fails.
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import replace
from urllib.request import Request, urlopen

from wmx.doctor.checks import Check, failed, passed

PYPI_SIMPLE = "https://pypi.org/simple/"
_STABLE = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)")


def stable(version: str) -> tuple[int, int, int] | None:
    match = _STABLE.fullmatch(version.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def pypi_versions(index_url: str = PYPI_SIMPLE, timeout: float = 15) -> list[str]:
    """Every version of matrix-synapse the index lists (PEP 691 JSON)."""
    request = Request(
        f"{index_url.rstrip('/')}/matrix-synapse/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "wmx-doctor"},
    )
    with urlopen(request, timeout=timeout, context=ssl.create_default_context()) as answer:
        document = json.loads(answer.read(8 << 20))
    versions = document.get("versions") if isinstance(document, dict) else None
    if not isinstance(versions, list):
        raise ValueError("the index answered no version list")
    return [str(v) for v in versions]


def release_check(deployed: str, versions: list[str], pinned: bool = False) -> Check:
    """`deployed` against PyPI's releases; `pinned`: it is wmx.yaml's synapse.version
    because the server did not say which release it runs."""
    title = "Synapse is current (at most one security release behind PyPI)"
    check = _release_check(deployed, versions, title)
    if pinned:
        said = f"wmx.yaml's synapse.version {deployed} (the server did not say its release)"
        check = replace(check, detail=check.detail.replace(deployed, said, 1))
    return check


def _release_check(deployed: str, versions: list[str], title: str) -> Check:
    fix = (
        "set synapse.version in wmx.yaml to the newest release (read its upgrade notes: "
        "https://element-hq.github.io/synapse/latest/upgrade.html) and run `wmx deploy`"
    )
    mine = stable(deployed)
    releases = sorted({v for v in (stable(x) for x in versions) if v is not None})
    if mine is None or not releases:
        return failed(
            "synapse-release",
            title,
            f"cannot compare {deployed!r} with PyPI's releases",
            fix,
            "inside",
        )
    newer = [v for v in releases if v > mine]
    newest = ".".join(map(str, releases[-1]))
    if not newer:
        return passed("synapse-release", title, f"{deployed} is the newest", "inside")
    if len(newer) == 1 and newer[0][:2] == mine[:2]:
        return passed(
            "synapse-release",
            title,
            f"{deployed}; {newest} is out (a patch release): deploy it soon",
            "inside",
        )
    return failed(
        "synapse-release",
        title,
        f"{deployed} is {len(newer)} release{'s' if len(newer) > 1 else ''} behind {newest}",
        fix,
        "inside",
    )
