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
