"""Backups' settings (`backup:` in wmx.yaml): borg repositories, the timer's schedule and
what prune keeps."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from wmx.site.borg import check_borg_repository
from wmx.site.calendar import check_calendar
from wmx.site.settings.section import Section


class BackupRetention(Section):
    """What `borg prune` keeps: the last archive of each of so many days, weeks, months."""

    daily: int = Field(default=7, ge=0, le=3650)
    weekly: int = Field(default=4, ge=0, le=520)
    monthly: int = Field(default=6, ge=0, le=1200)
    # Every archive younger than this is kept, whatever the rules above say: a manual
    # backup (before an upgrade, say) is not pruned by the next run on the same day.
    keep_within_hours: int = Field(default=24, ge=0, le=8760)

    @model_validator(mode="after")
    def _keeps_something(self) -> BackupRetention:
        if not (self.daily or self.weekly or self.monthly):
            raise ValueError("backup.retention keeps nothing: set daily, weekly or monthly above 0")
        return self


class BackupSettings(Section):
    """borg backups of the homeserver host (database, media, signing key, configs)."""

    # Off when the section is absent (sites made before backups existed); `wmx init`
    # writes it on.
    enabled: bool = False
    schedule: str = "daily"
    retention: BackupRetention = BackupRetention()
    include_remote_media: bool = False
    # A repository on the homeserver host itself (/var/backups/wmx/borg).
    local_repository: bool = True
    # Further remote repositories (besides a host of the inventory's `backup` group).
    repositories: list[str] = Field(default_factory=list)

    _schedule = field_validator("schedule")(classmethod(lambda cls, v: check_calendar(v)))

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        checked = [check_borg_repository(v) for v in value]
        twice = sorted({v for v in checked if checked.count(v) > 1})
        if twice:
            raise ValueError(f"repositories must be unique; repeated: {', '.join(twice)}")
        return checked
