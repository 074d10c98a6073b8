"""The owner's library from the export: favourites, the watchlist, the public lists and their
items, the comments and reviews. Written by the sync's own writer, so an item imported and
then synced from the API is one row.

A section the export holds replaces what the mirror held of it (one transaction each): what
the export no longer lists is removed, unless the section is incomplete (`_errors.json` names
it, or an item could not be read), where it is only added to. Privacy as in the sync: only a
list the export calls public is read at all (a private, friends-only or link-only list's
items file is never opened), and a list the export does not show public is removed, with its
items.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import QuerySet

from profile.client.library import ListedItem, TraktList, UserComment
from profile.mirror.importing.archive import Archive
from profile.mirror.importing.outcome import ImportOutcome, valid_items
from profile.mirror.state import version_moved
from profile.mirror.sync.library import new_generation, remove_lists
from profile.mirror.sync.writer import Writer
from profile.models import Comment, Favorite, ListItem, SyncState, UserList, WatchlistItem

COMMENTS = ("comments-movies", "comments-shows", "comments-seasons", "comments-episodes")


def import_library(archive: Archive, writer: Writer, outcome: ImportOutcome, renew) -> None:
    failed = _failed(archive)
    outcome.favorites = _section(
        archive, ("lists-favorites",), ListedItem, writer.store_favorites,
        Favorite.objects.all(), outcome, renew, "favorites" in failed,
    )  # fmt: skip
    outcome.watchlist = _section(
        archive, ("lists-watchlist",), ListedItem, writer.store_watchlist,
        WatchlistItem.objects.all(), outcome, renew, "watchlist" in failed,
    )  # fmt: skip
    # Comments on lists are left out, as the sync leaves them.
    outcome.comments = _section(
        archive, COMMENTS, UserComment, writer.store_comments,
        Comment.objects.all(), outcome, renew, "comments" in failed,
    )  # fmt: skip
    outcome.lists = _lists(archive, writer, outcome, renew, "lists" in failed)


def _section(archive, names, model, store, rows: QuerySet, outcome, renew, failed) -> int | None:
    """One section's files (`names`, each paged) stored by `store`; how many rows it holds
    afterwards, None when the export has none of its files."""
    members = [(name, archive.section(name)) for name in names]
    if not any(pages for _, pages in members):
        return None
    whole = not failed and all(pages for _, pages in members)
    generation, skipped = new_generation(), outcome.skipped
    with transaction.atomic():
        for _, pages in members:
            for member in pages:
                store(list(valid_items(archive.read(member), model, outcome, member)), generation)
                renew()
        if whole and outcome.skipped == skipped:
            rows.exclude(seen=generation).delete()
        SyncState.objects.row().update(**version_moved())
    return rows.count()


def _lists(archive: Archive, writer: Writer, outcome, renew, failed: bool) -> int | None:
    members = archive.section("lists-lists")
    if not members:
        return None
    generation, position, public = new_generation(), 0, []
    with transaction.atomic():
        for member in members:
            for body in valid_items(archive.read(member), TraktList, outcome, member):
                if body.public:
                    public.append((writer.store_list(body, position, generation), body))
                position += 1
    # Whatever the export does not show public is gone at once, complete or not.
    remove_lists(UserList.objects.exclude(seen=generation))
    for row, body in public:
        name = f"lists-list-{body.ids.trakt}-{body.ids.slug}" if body.ids.slug else None
        pages = archive.section(name) if name else []
        if pages:
            _list_items(archive, writer, row, pages, outcome, renew, failed)
    return UserList.objects.count()


def _list_items(archive, writer: Writer, row: UserList, pages, outcome, renew, failed) -> None:
    generation, skipped, first = new_generation(), outcome.skipped, 0
    with transaction.atomic():
        for member in pages:
            items = list(valid_items(archive.read(member), ListedItem, outcome, member))
            writer.store_list_items(row, items, first, generation)
            first += len(items)
            renew()
        if not failed and outcome.skipped == skipped:
            ListItem.objects.filter(list=row).exclude(seen=generation).delete()
        SyncState.objects.row().update(**version_moved())


def _failed(archive: Archive) -> set[str]:
    """The library's sections `_errors.json` names (by their API path: users/x/watchlist)."""
    errors = archive.one("_errors")
    failed = set()
    for entry in errors if isinstance(errors, list) else []:
        endpoint = str(entry.get("endpoint", "")) if isinstance(entry, dict) else ""
        for section in ("favorites", "watchlist", "lists", "comments"):
            if re.search(rf"\b{section}\b", endpoint):
                failed.add(section)
    return failed
