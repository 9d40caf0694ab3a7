"""How `wmx deploy` and `wmx diff` show their plans to people: what each host's roles will
do, and each file or role var that changed since the last deploy (secret files listed,
never shown)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.syntax import Syntax

from wmx.present import console

if TYPE_CHECKING:
    from wmx.ops.deploy import Deployment
    from wmx.render import FileChange


def show_plan(deployment: Deployment) -> None:
    """The hosts rendered, the files that differ, and per host the roles it converges,
    only verifies (unchanged) and removes."""
    console.print(
        f"Rendered {len(deployment.hosts)} host(s); "
        f"{len(deployment.pending)} file(s) differ from the last deploy."
    )
    for host, plan in deployment.plans.items():
        converge = plan.roles_doing("converge")
        verify = plan.roles_doing("verify")
        remove = plan.roles_doing("remove")
        parts = [f"converge {', '.join(converge)}" if converge else ""]
        parts.append(f"verify {', '.join(verify)} (unchanged)" if verify else "")
        parts.append(f"remove {', '.join(remove)}" if remove else "")
        line = f"  {host}: {'; '.join(p for p in parts if p) or 'nothing to do'}"
        console.print(line, soft_wrap=True, markup=False, highlight=False)


def show_changes(changes: Sequence[FileChange]) -> None:
    """Each change against the last deploy, with its diff (a secret file's is not shown)."""
    if not changes:
        console.print("No changes against the last deploy.")
    for change in changes:
        console.print(f"[bold]{change.host}[/] {change.kind}: {change.dest}")
        if change.diff:
            console.print(Syntax(change.diff, "diff", theme="ansi_dark"))
        elif change.kind == "changed":
            console.print("  (secret file: content not shown)")
