"""PostgreSQL's settings (`postgresql:` in wmx.yaml)."""

from __future__ import annotations

from pydantic import Field

from wmx.site.settings.section import Section


class PostgresSettings(Section):
    max_connections: int = Field(default=100, ge=20, le=1000)
