"""The upstream releases this wmx version installs and has been tested with."""

from __future__ import annotations

# The Synapse release this wmx version deploys and has been tested with.
DEFAULT_SYNAPSE_VERSION = "1.163.2"
# Heisenbridge, the IRC bridge (issue 4).
DEFAULT_HEISENBRIDGE_VERSION = "1.15.4"

# The Element Web release this wmx version installs: its official archive and that
# archive's SHA-256, confirmed by two independent published pins (see docs/chat.md).
DEFAULT_ELEMENT_VERSION = "1.12.25"
DEFAULT_ELEMENT_SHA256 = "14d7f2671eb1fbccc690e7f176042d72ed2b4e34f7326a007e8b1540b1e748bb"
ELEMENT_RELEASE_URL = (
    "https://github.com/element-hq/element-web/releases/download/"
    "v{version}/element-v{version}.tar.gz"
)

# Cinny (web_client.kind: cinny): wmx pins the release but no checksum, since none of the
# official archive could be verified from here; a site gives web_client.sha256 (or a
# local web_client.archive). See docs/chat.md.
DEFAULT_CINNY_VERSION = "4.2.2"
CINNY_RELEASE_URL = (
    "https://github.com/cinnyapp/cinny/releases/download/v{version}/cinny-v{version}.tar.gz"
)
# Per kind: the pinned version and its archive's SHA-256 (None: not pinned).
DEFAULT_RELEASES: dict[str, tuple[str, str | None]] = {
    "element": (DEFAULT_ELEMENT_VERSION, DEFAULT_ELEMENT_SHA256),
    "cinny": (DEFAULT_CINNY_VERSION, None),
}
RELEASE_URLS = {"element": ELEMENT_RELEASE_URL, "cinny": CINNY_RELEASE_URL}
# Cinny's index.html carries one inline script (`window.global ||= window;`), which its
# Content-Security-Policy allows by hash. A local archive's hashes are read from the
# archive itself; these are for the downloaded release of each version wmx knows.
CINNY_INLINE_SCRIPT_HASHES: dict[str, tuple[str, ...]] = {
    "4.2.2": ("sha256-dT6noyex1I8o5CS9Sx/y8UOqwpZYIridpGz92gcObIM=",),
}
