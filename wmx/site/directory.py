"""The site directory that --site or $WMX_SITE names: the site's wmx.yaml stands for its
directory (a friendlier reading than refusing it); another file is refused, saying what
to give."""

from __future__ import annotations

from pathlib import Path

from wmx.errors import InputError
from wmx.site import CONFIG_FILE
from wmx.site.given import given as shown


def site_directory(given: str, where: str) -> Path:
    """The site directory that --site or $WMX_SITE (`where`) names: the site's
    wmx.yaml stands for its directory; another file is refused, saying what to give.
    A name the system cannot look up (one too long, say) is refused here, naming it."""
    try:
        path = Path(given).resolve()
        is_file, exists, is_dir = path.is_file(), path.exists(), path.is_dir()
    except OSError as exc:  # ENAMETOOLONG, …: is_file() raises these
        raise InputError(f"{where} {shown(given)}: {exc.strerror or exc}") from None
    except RuntimeError:  # ELOOP: Python 3.11's resolve() raises it as "Symlink loop"
        raise InputError(f"{where} {shown(given)}: a loop of symbolic links") from None
    if is_file and path.name == CONFIG_FILE:
        return path.parent
    if exists and not is_dir:
        raise InputError(
            f"{where} {shown(given)}: a file, not a site's directory: give the directory "
            f"that holds {CONFIG_FILE} (SITE, or SITE/{CONFIG_FILE})"
        )
    if where == "$WMX_SITE" and not (path / CONFIG_FILE).is_file():
        # Said as the variable it came from: the general refusal says to fix --site.
        raise InputError(
            f"$WMX_SITE {shown(given)}: no {CONFIG_FILE} there, so no site; create one with "
            f"`wmx init {shown(given)}`, point $WMX_SITE at a site's directory, or unset it "
            "to use the current directory's site"
        )
    return path
