"""Media: list by user or room, quarantine, protect, delete, purge the remote cache."""

from __future__ import annotations

from typing import Any, cast

from wmx.admin.http import V1, ApiGroup, Listing, PageStream, endpoint
from wmx.admin.rooms import unknown_room
from wmx.admin.types import DeletedMedia, Media, RoomMedia


def _unknown_media(server: str, media_id: str) -> str:
    return f"unknown media mxc://{server}/{media_id}"


class MediaApi(ApiGroup):
    def of_user(self, user_id: str, *, limit: int | None = None) -> Listing[Media]:
        """What a local user uploaded, newest first."""
        return self.pages_of_user(user_id, limit=limit).collect()

    def pages_of_user(self, user_id: str, *, limit: int | None = None) -> PageStream[Media]:
        """`of_user` in large pages, each fetched as the caller iterates."""
        return cast(
            PageStream[Media],
            self._http.pages(
                endpoint(V1 + "/users/{}/media", user_id),
                "media",
                params={"order_by": "created_ts", "dir": "b"},
                limit=limit,
            ),
        )

    def in_room(self, room_id: str) -> RoomMedia:
        """mxc:// URIs referenced by the room's events (local and remote)."""
        return cast(
            RoomMedia,
            self._http.get(
                endpoint(V1 + "/room/{}/media", room_id), not_found=unknown_room(room_id)
            ),
        )

    def info(self, server: str, media_id: str) -> dict[str, Any]:
        data = self._http.get(
            endpoint(V1 + "/media/{}/{}", server, media_id),
            not_found=_unknown_media(server, media_id),
        )
        return cast(dict[str, Any], data.get("media_info", data))

    def quarantine(self, server: str, media_id: str) -> None:
        self._http.post(endpoint(V1 + "/media/quarantine/{}/{}", server, media_id))

    def unquarantine(self, server: str, media_id: str) -> None:
        self._http.post(endpoint(V1 + "/media/unquarantine/{}/{}", server, media_id))

    def quarantine_room(self, room_id: str) -> int:
        data = self._http.post(
            endpoint(V1 + "/room/{}/media/quarantine", room_id), not_found=unknown_room(room_id)
        )
        return int(data.get("num_quarantined", 0))

    def quarantine_user(self, user_id: str) -> int:
        data = self._http.post(endpoint(V1 + "/user/{}/media/quarantine", user_id))
        return int(data.get("num_quarantined", 0))

    def protect(self, media_id: str) -> None:
        """Keep local media out of any quarantine (for example a community's logo)."""
        self._http.post(endpoint(V1 + "/media/protect/{}", media_id))

    def unprotect(self, media_id: str) -> None:
        self._http.post(endpoint(V1 + "/media/unprotect/{}", media_id))

    def delete(self, server: str, media_id: str) -> DeletedMedia:
        return cast(
            DeletedMedia,
            self._http.delete(
                endpoint(V1 + "/media/{}/{}", server, media_id),
                not_found=_unknown_media(server, media_id),
            ),
        )

    def delete_local_before(
        self, before_ms: int, *, size_gt: int = 0, keep_profiles: bool = True
    ) -> DeletedMedia:
        """Delete local media last accessed before `before_ms` (and larger than size_gt)."""
        return cast(
            DeletedMedia,
            self._http.post(
                f"{V1}/media/delete",
                params={"before_ts": before_ms, "size_gt": size_gt, "keep_profiles": keep_profiles},
            ),
        )

    def purge_remote_cache(self, before_ms: int) -> int:
        """Drop cached copies of other servers' media not accessed since `before_ms`."""
        data = self._http.post(f"{V1}/purge_media_cache", params={"before_ts": before_ms})
        return int(data.get("deleted", 0))
