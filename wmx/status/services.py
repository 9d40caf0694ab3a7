"""Which systemd units each component runs, and the names `wmx logs` accepts for them:
each component says so itself (wmx.components); these are the names status and logs use."""

from __future__ import annotations

from wmx.components import known_service_names, services_of
from wmx.components.component import Service

__all__ = ["Service", "known_service_names", "services_of"]
