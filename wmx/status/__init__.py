"""`wmx status` and `wmx logs`: what runs where, how healthy it is, and its journal."""

from wmx.status.collect import SiteStatus, collect_status
from wmx.status.services import Service, services_of

__all__ = ["Service", "SiteStatus", "collect_status", "services_of"]
