"""The one exception the lab raises, so the CLI can print a one-line cause."""

from __future__ import annotations

from wmx.errors import WmxError


class LabError(WmxError):
    """Something the lab could not do; the message is meant for the operator."""


NOT_ROOT_MESSAGE = "wmx lab needs root: it creates network namespaces and boots containers"
