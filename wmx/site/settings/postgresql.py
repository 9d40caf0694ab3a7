"""PostgreSQL's settings (`postgresql:` in wmx.yaml)."""

from __future__ import annotations

from pydantic import Field

from wmx.site.grammars import Strict


class PostgresSettings(Strict):
    max_connections: int = Field(default=100, ge=20, le=1000)
