"""The site directory that --site or $WMX_SITE names: the site's wmx.yaml stands for its
directory (a friendlier reading than refusing it); another file is refused, saying what
to give."""

from __future__ import annotations

from pathlib import Path

from wmx.errors import InputError
from wmx.site import CONFIG_FILE


def site_directory(given: str, where: str) -> Path:
    """The site directory that --site or $WMX_SITE (`where`) names: the site's
    wmx.yaml stands for its directory; another file is refused, saying what to give."""
    path = Path(given).resolve()
    if path.is_file() and path.name == CONFIG_FILE:
        return path.parent
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{where} {given}: a file, not a site's directory: give the directory that "
            f"holds {CONFIG_FILE} (SITE, or SITE/{CONFIG_FILE})"
        )
    return path
