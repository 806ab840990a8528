"""Which photos the public may see: those a TPS's numbers were published with.

A TPS's public photos are, while it is published, the current page of each page number as it stood
at its latest publication (``current_page``'s choice among the photos read by then). So:

- a photo the reader refused (not a page of the form) is never public;
- a page photographed again after the publication is not public until a publication follows: its
  reading may not be the published numbers, and until its decoding has been checked it is as
  unchecked as those numbers;
- older versions of a page are not public, even those of an earlier publication: the public
  document lists the current pages only, and a superseded photo was usually retaken because it
  was unreadable or wrong;
- nothing of a TPS that is not published now.

The set changes only when the TPS is published or leaves publication, both of which announce a
change, so the cached TPS document and the photo addresses it lists stay in agreement.
"""

from __future__ import annotations

import asyncpg
import msgspec

from service.results.store import BALLOT


class PagePhoto(msgspec.Struct, frozen=True):
    page: int
    sha256: str
    media_type: str


async def public_pages(conn: asyncpg.Connection, tps: str) -> list[PagePhoto]:
    """The TPS's public photos, by page; none while it is not published."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT ON (r.page) r.page, p.sha256, p.media_type
        FROM tps_result t
        CROSS JOIN LATERAL (
            SELECT max(e.at) AS at FROM tps_result_event e
            WHERE e.tps_code = t.tps_code AND e.ballot = t.ballot AND e.to_state = 'published'
        ) published
        JOIN photo p ON p.tps_code = t.tps_code AND p.ballot = t.ballot
        JOIN photo_reading r ON r.photo_id = p.id
        WHERE t.tps_code = $1 AND t.ballot = $2 AND t.state = 'published'
          AND r.outcome = 'page' AND r.read_at <= published.at
        -- current_page's order (sql/007_current_page.sql), among the photos read by the publication
        ORDER BY r.page, p.uploaded_at DESC, p.id DESC
        """,
        tps,
        BALLOT,
    )
    return [PagePhoto(r["page"], r["sha256"], r["media_type"]) for r in rows]


async def public_photo(conn: asyncpg.Connection, sha256: str) -> PagePhoto | None:
    """The photo with these bytes if it is a public photo of some TPS."""
    codes = await conn.fetch(
        "SELECT DISTINCT tps_code FROM photo WHERE sha256 = $1 AND ballot = $2", sha256, BALLOT
    )
    for row in codes:
        for photo in await public_pages(conn, row["tps_code"]):
            if photo.sha256 == sha256:
                return photo
    return None
