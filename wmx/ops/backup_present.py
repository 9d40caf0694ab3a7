"""`wmx backup restore` and `wmx backup drill` as people and scripts see them: the
workflow's progress on stderr (and Ansible's, for a drill), then the report (JSON for
scripts) and the verdict (wmx.backup.present.finish)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wmx.backup.present import finish
from wmx.backup.progress import steps_display
from wmx.present import console, err_console

if TYPE_CHECKING:
    from wmx.site import Site


def restore_command(
    site: Site, archive: str, to: str, repo: str | None, force: bool, output: str
) -> None:
    """Restore `archive` onto `to`; an error (exit status 1) when it does not match."""
    from wmx.ops.restore import restore

    with steps_display(err_console) as steps:
        report = restore(site, archive=archive, to=to, repo=repo, force=force, steps=steps)
    finish(
        report,
        output,
        "Restored",
        "the restore does not match the archive",
        "[green]Restore complete[/]: everything compared matches the archive.",
    )


def drill_command(site: Site, to: str | None, archive: str, repo: str | None, output: str) -> None:
    """The drill onto a throwaway host; with `--output json` stdout carries the report alone."""
    from wmx.ops.drill import rehearse

    say = err_console if output == "json" else console
    report = rehearse(
        site,
        to=to,
        repo=repo,
        archive=archive,
        console=say,
        steps=lambda: steps_display(err_console),
    )
    finish(
        report,
        output,
        "Drilled",
        "drill FAILED",
        "[green]Drill passed[/]: the archive restores and matches what it recorded.",
    )
