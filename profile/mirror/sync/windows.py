"""Trakt's history walked newest first by windows of time, not by page numbers.

Page N of a list that moves is not the page N it was: a play deleted on a page already read
moves every later play up, and the first of the next page is never seen; a play added pushes
them down. So each request asks for the plays watched up to a moment (`end_at`), the first
page of them, and the next window ends at the oldest play of that page: whatever is deleted
or added elsewhere, no play that Trakt listed when its window was read can be skipped. The
plays of that oldest moment come again at the top of the next window (as many as shared it:
one, nearly always), which costs a play per page and is how a moment split between two pages
is read whole.

Only when more plays share one moment than a page holds (a show of 300 episodes marked as
watched at once) does a window need a second page; then a play deleted or added in that
window while it is paged could move it, and Trakt's count of the window says whether it
moved: if it did, the walk is not exact (its removals wait for the next walk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from profile.client import trakt
from profile.client.schemas import HistoryPlay, parse_time
from profile.mirror.sync.paging import last_page

PAGE = trakt.PAGE_LIMIT
# Trakt's moments are milliseconds: a window asked "up to its moment + 1 ms" holds that moment
# whether Trakt reads `end_at` as inclusive or not.
MILLISECOND = timedelta(milliseconds=1)


def moment(at: datetime) -> datetime:
    """`at` to the millisecond, as Trakt's times are."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Window:
    """Where a walk stands: the plays watched up to `cursor`, page `page` of them; `count` is
    Trakt's count of the window when paging within one moment began."""

    cursor: datetime
    page: int = 1
    count: int | None = None


@dataclass(frozen=True)
class Step:
    done: bool  # that page held the last plays of the walk
    next: Window
    moved: bool = False  # a window paged within one moment changed meanwhile


def read(auth, user: str, window: Window, start_at: datetime | None = None, limit: int = PAGE):
    """The page of `window` (plays watched from `start_at`, if given, up to its cursor)."""
    return trakt.history_page(
        auth,
        user,
        page=window.page,
        limit=limit,
        start_at=start_at,
        end_at=window.cursor + MILLISECOND,
    )


def after(window: Window, page: trakt.Page[HistoryPlay]) -> Step:
    """The window that follows `window`, whose page was `page`."""
    pagination = page.pagination
    # Paging within one window: did its count change since its first page?
    moved = window.count is not None and pagination.item_count != window.count
    read_here = len(page.items) + page.skipped
    if last_page(window.page, read_here, pagination):
        return Step(True, window, moved)
    moments = [parse_time(item.watched_at) for item in page.items]
    oldest = min(moments, default=None)
    if oldest is not None and oldest < window.cursor:
        return Step(False, Window(oldest), moved)
    # A whole page of one moment (or of unreadable plays): the next page of the same window.
    count = window.count if window.count is not None else pagination.item_count
    return Step(False, Window(window.cursor, window.page + 1, count), moved)
