"""The owner's library, kept current with the history: the favourites, the watchlist, the
public lists and their items, and the owner's comments (shouts and reviews).

Which sections are fetched (`due()`): with the owner's token, those whose times in
/sync/last_activities moved since they were last fetched (the run asked it already: nothing
more when nothing moved); without one, each at most once an hour. A full sync (`--full`, the
first backfill) fetches them all. Every call is one of the run's paced calls, asks
`limit=250` and follows Trakt's X-Pagination-* headers. A list's items are asked only when
its `updated_at` moved (or in a full sync): a typical owner's full refresh is some 15 calls.

Each section is walked whole, then what the walk did not see is removed, when the walk was
exact (every item read, the item count the same at both ends): an item that moved between
two pages is never removed for it. Privacy is not left to that: a list is stored only while
Trakt says it is `public`, and one that is not (private, friends, link, or anything new) is
removed, with its items, by the first walk that does not see it public. Its rows are zeroed
as they go (SQLite's secure_delete, and a checkpoint of the write-ahead log), so its name does
not linger in the database file either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from profile.client import UpstreamError
from profile.client import library as trakt_library
from profile.client.trakt import Page, TraktAuth
from profile.mirror.state import version_moved
from profile.mirror.sync.outcome import SyncFailed
from profile.mirror.sync.pacing import Calls
from profile.mirror.sync.paging import last_page
from profile.mirror.sync.upkeep import forget_orphans
from profile.mirror.sync.writer import Writer
from profile.models import Comment, Favorite, ListItem, SyncState, UserList, WatchlistItem

log = logging.getLogger("profile.mirror.sync")

SECTIONS = ("favorites", "watchlist", "lists", "comments")
EVERY = timedelta(hours=1)  # without a token: how often each section is asked again
MAX_PAGES = 1_000
# What Trakt answers for a section it will not show: it is not shown here either.
WITHHELD = ("private_profile", "unauthorized", "forbidden", "not_found")


class Library:
    def __init__(self, fetch: Calls, writer: Writer, auth: TraktAuth, user: str, renew):
        self.fetch = fetch
        self.writer = writer
        self.auth = auth
        self.user = user
        self.renew = renew
        self.calls = 0
        self.counts: dict[str, int] = {}
        self.everything = False

    # --- which sections ---------------------------------------------------------------------

    def due(self, state: SyncState, marks: dict | None, everything: bool) -> list[str]:
        """The sections to fetch now. `marks`: the library's times in /sync/last_activities
        (None without a token); `everything`: a full sync."""
        if everything:
            return list(SECTIONS)
        now = timezone.now()
        kept = state.last_activities.get("library", {})
        due = []
        for section in SECTIONS:
            mark = marks.get(section) if marks is not None else None
            if mark is not None and any(mark):
                if list(mark) != kept.get(section):
                    due.append(section)
                continue
            # No token (or Trakt said nothing of this section): at most once an hour.
            fetched = state.library_fetched_at.get(section)
            if fetched is None or now - datetime.fromisoformat(fetched) >= EVERY:
                due.append(section)
        return due

    # --- fetching -----------------------------------------------------------------------------

    def refresh(self, sections: list[str], everything: bool = False) -> list[str]:
        """Fetches and stores `sections` (`everything`: every list's items too); the ones it
        finished (the rest failed: the next run asks again)."""
        self.everything = everything
        done = []
        before = self.fetch.count
        try:
            for section in sections:
                try:
                    self.counts[section] = getattr(self, section)()
                except UpstreamError as error:
                    if error.code not in WITHHELD:
                        raise
                    # Trakt will not show it (to this site's credentials): neither will we.
                    log.warning("library sync: Trakt withholds the %s (%s)", section, error.code)
                    self.counts[section] = self._withheld(section)
                done.append(section)
        finally:
            self.calls += self.fetch.count - before
            if done:
                with transaction.atomic():
                    forget_orphans()
                    SyncState.objects.row().update(**version_moved())
        return done

    def _walk(self, ask: Callable[[int], Page], store: Callable[[list, int], int]) -> bool:
        """Every page of one paginated list: `ask(page)` fetches one, `store(items, first)`
        writes it (`first`: the position of its first item). Whether the walk was exact."""
        page, position, read, first_count, exact = 1, 0, 0, None, True
        while True:
            result = self.fetch(lambda page=page: ask(page))
            pagination = result.pagination
            if first_count is None:
                first_count = pagination.item_count
            with transaction.atomic():
                store(result.items, position)
                self.renew()
            exact = exact and result.skipped == 0
            count = len(result.items) + result.skipped
            position += len(result.items)
            read += count
            if last_page(page, count, pagination):
                break
            page += 1
            if page > MAX_PAGES:
                raise SyncFailed("A list of Trakt's never came to a last page.", "bad_response")
        return (
            exact
            and first_count is not None
            and first_count == pagination.item_count
            and read == first_count
        )

    def _sweep(self, rows, generation: int, exact: bool) -> None:
        """Removes what this walk did not see (when it was exact), and marks the mirror
        changed."""
        with transaction.atomic():
            if exact:
                rows.exclude(seen=generation).delete()
            SyncState.objects.row().update(**version_moved())

    def _section(self, ask: Callable[[int], Page], store, rows) -> int:
        """A section walked whole (`ask(page)`, `store(items, generation)`), then what it did
        not see removed when the walk was exact; how many rows it holds now."""
        generation = new_generation()
        exact = self._walk(ask, lambda items, first: store(items, generation))
        self._sweep(rows, generation, exact)
        return rows.count()

    def favorites(self) -> int:
        return self._section(
            lambda page: trakt_library.favorites_page(self.auth, self.user, page=page),
            self.writer.store_favorites,
            Favorite.objects.all(),
        )

    def watchlist(self) -> int:
        return self._section(
            lambda page: trakt_library.watchlist_page(self.auth, self.user, page=page),
            self.writer.store_watchlist,
            WatchlistItem.objects.all(),
        )

    def comments(self) -> int:
        return self._section(
            lambda page: trakt_library.comments_page(self.auth, self.user, page=page),
            self.writer.store_comments,
            Comment.objects.all(),
        )

    def lists(self) -> int:
        generation = new_generation()
        public = []  # (the list's body, its row as it was before this walk, if any)
        known = {row.trakt_id: row for row in UserList.objects.all()}

        def store(items, first: int) -> None:
            for position, body in enumerate(items, start=first):
                if body.public:
                    before = known.get(body.ids.trakt)
                    public.append((self.writer.store_list(body, position, generation), before))

        self._walk(lambda page: trakt_library.lists_page(self.auth, self.user, page=page), store)
        # Whatever was not seen public is gone at once, walk exact or not.
        remove_lists(UserList.objects.exclude(seen=generation))
        for row, before in public:
            moved = before is None or before.updated_at != row.updated_at or row.updated_at is None
            if self.everything or moved:
                self._list_items(row)
        return len(public)

    def _list_items(self, user_list: UserList) -> None:
        generation = new_generation()
        exact = self._walk(
            lambda page: trakt_library.list_items_page(
                self.auth, self.user, user_list.trakt_id, page=page
            ),
            lambda items, first: self.writer.store_list_items(user_list, items, first, generation),
        )
        self._sweep(ListItem.objects.filter(list=user_list), generation, exact)

    def _withheld(self, section: str) -> int:
        models: dict[str, type[Model]] = {
            "favorites": Favorite,
            "watchlist": WatchlistItem,
            "comments": Comment,
        }
        if section == "lists":
            remove_lists(UserList.objects.all())
        else:
            with transaction.atomic(), _zeroing():
                models[section].objects.all().delete()
        return 0


def new_generation() -> int:
    """A mark for the rows one walk of a section writes (`seen`): what lacks it was not seen."""
    return int(timezone.now().timestamp() * 1000)


def remove_lists(gone) -> None:
    """Removes the lists `gone` (a query) and their items, leaving no trace of their names:
    a list that is not public (any more) is not kept, and neither is what it held."""
    if not gone.exists():
        return
    with transaction.atomic(), _zeroing():
        gone.delete()
        forget_orphans()
        SyncState.objects.row().update(**version_moved())
    _checkpoint()


class _zeroing:
    """SQLite: what is deleted meanwhile is overwritten with zeros, not merely freed."""

    def __enter__(self):
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = ON")

    def __exit__(self, *exc):
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = OFF")


def _checkpoint() -> None:
    """SQLite: the write-ahead log's older copies of those pages are written over too."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
