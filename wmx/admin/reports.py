"""Event reports: messages users flagged to the server admins."""

from __future__ import annotations

from typing import cast

from wmx.admin.http import LISTING_PAGE_SIZE, PAGE_SIZE, V1, ApiGroup, Listing, PageStream, endpoint
from wmx.admin.ids import check_report_id
from wmx.admin.types import EventReport
from wmx.errors import InputError


def _unknown(report_id: int) -> str:
    return f"unknown event report {report_id}"


def _path(report_id: int) -> str:
    """The report's endpoint, for a number Synapse can store (a larger one overflowed
    into a 500): anything else is an input error, and nothing is sent."""
    try:
        check_report_id(report_id)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return endpoint(V1 + "/event_reports/{}", str(report_id))


class ReportsApi(ApiGroup):
    def listing(
        self,
        *,
        room_id: str | None = None,
        reporter: str | None = None,
        sender: str | None = None,
        limit: int | None = None,
    ) -> Listing[EventReport]:
        """Newest first."""
        return self.pages(
            room_id=room_id, reporter=reporter, sender=sender, limit=limit, page_size=PAGE_SIZE
        ).collect()

    def pages(
        self,
        *,
        room_id: str | None = None,
        reporter: str | None = None,
        sender: str | None = None,
        limit: int | None = None,
        page_size: int = LISTING_PAGE_SIZE,
    ) -> PageStream[EventReport]:
        """`listing` in large pages, each fetched as the caller iterates."""
        params = {
            "dir": "b",
            "room_id": room_id,
            "user_id": reporter,
            "event_sender_user_id": sender,
        }
        return cast(
            PageStream[EventReport],
            self._http.pages(
                f"{V1}/event_reports",
                "event_reports",
                params=params,
                limit=limit,
                page_size=page_size,
            ),
        )

    def get(self, report_id: int) -> EventReport:
        return cast(
            EventReport,
            self._http.get(_path(report_id), not_found=_unknown(report_id)),
        )

    def resolve(self, report_id: int) -> None:
        """Synapse has no 'resolved' state: resolving a report deletes it."""
        self._http.delete(_path(report_id), not_found=_unknown(report_id))
