"""backup_repo: append-only borg repositories for the homeserver host, kept on the hosts
of the `backup` group (its role only: no file is rendered for it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wmx.components.backup import REPO_HOME, REPO_USER, SSH_KEY, backs_up
from wmx.components.component import Component, SiteViews

if TYPE_CHECKING:
    from wmx.site.topology import HostView


class BackupRepo(Component):
    name = "backup_repo"
    groups = ("backup",)
    renders_files = False

    def role_vars(self, views: SiteViews, host: HostView) -> dict[str, Any]:
        site = views.site
        config = site.config
        clients = [h for h in site.topology.in_group("homeserver") if backs_up(config, h)]
        return {
            "backup_repo_user": REPO_USER,
            "backup_repo_home": REPO_HOME,
            "backup_repo_path": f"{REPO_HOME}/{config.server_name}",
            "backup_repo_site": config.server_name,
            "backup_repo_clients": [h.name for h in clients],
            "backup_repo_client_key": f"{SSH_KEY}.pub",
        }


COMPONENT = BackupRepo()
