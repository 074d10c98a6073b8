"""The library from Trakt's export: favourites, watchlist, public lists (and never another
kind), comments and reviews, merged as the sync merges them."""

from __future__ import annotations

import pytest

from profile.mirror import sync
from profile.models import Comment, Favorite, ListItem, Title, UserList, WatchlistItem
from tests.mirror.exports import export
from tests.mirror.test_import import owner, run  # noqa: F401 (a fixture)

LISTS = [
    {"name": "Rainy Sundays", "privacy": "public", "items": 3},
    {"name": "Secret Shame", "privacy": "private", "items": 2},
    {"name": "For Mates", "privacy": "friends", "items": 2},
    {"name": "Shared Link", "privacy": "link", "items": 2},
]
LIBRARY = {"favorites": 4, "watchlist": 260, "lists": LISTS, "comments": 12}


def shelves() -> tuple:
    return (
        list(Favorite.objects.order_by("rank").values_list("title__trakt_id", "rank", "notes")),
        list(WatchlistItem.objects.order_by("rank").values_list("kind", "trakt_id", "rank")),
        list(UserList.objects.values_list("trakt_id", "name", "position")),
        list(ListItem.objects.order_by("position").values_list("list__name", "trakt_id")),
        list(Comment.objects.order_by("trakt_id").values_list("trakt_id", "text", "review")),
    )


@pytest.mark.both_databases
@pytest.mark.django_db
def test_the_library_is_imported_and_counted_in_the_last_line(owner, tmp_path):  # noqa: F811
    last = run(export(tmp_path, history=50, ratings=0, **LIBRARY)).strip().splitlines()[-1]

    assert last == (
        "50 plays (50 new), 12 ratings, 4 favourites, 260 watchlist items, 1 list, "
        "12 comments; data as of 2026-11-30"
    )
    assert Favorite.objects.count() == 4 and WatchlistItem.objects.count() == 260
    assert list(ListItem.objects.values_list("list__name", flat=True)) == ["Rainy Sundays"] * 3
    assert Comment.objects.filter(review=True).count() == 3  # comments 0, 5 and 10
    # Titles no one played join the titles table, so every page can draw them.
    assert Title.objects.filter(plays__isnull=True).exists()


@pytest.mark.django_db
def test_a_list_that_is_not_public_is_never_stored_nor_its_items_read(owner, tmp_path):  # noqa: F811
    run(export(tmp_path, history=10, ratings=0, lists=LISTS))

    assert list(UserList.objects.values_list("name", flat=True)) == ["Rainy Sundays"]
    # Their items' titles never reached the titles table either.
    titles = set(Title.objects.values_list("title", flat=True))
    assert {f"Wanted Film {801 * 7 + n}" for n in range(2)}.isdisjoint(titles)  # private
    assert {f"Wanted Film {800 * 7 + n}" for n in range(3)} <= titles  # public


@pytest.mark.django_db
def test_importing_the_library_twice_changes_nothing(owner, tmp_path):  # noqa: F811
    path = export(tmp_path, history=10, ratings=0, **LIBRARY)
    run(path)
    before, titles = shelves(), Title.objects.count()

    run(path)

    assert shelves() == before and Title.objects.count() == titles


@pytest.mark.django_db
def test_the_next_export_removes_what_left_the_library_and_a_list_made_private(owner, tmp_path):  # noqa: F811
    (tmp_path / "a").mkdir()
    run(export(tmp_path / "a", history=10, ratings=0, **LIBRARY))
    later = LIBRARY | {
        "favorites": 2,
        "watchlist": 5,
        "lists": [LISTS[0] | {"privacy": "private"}, *LISTS[1:]],
        "comments": 3,
    }
    (tmp_path / "b").mkdir()

    run(export(tmp_path / "b", history=10, ratings=0, **later))

    assert (Favorite.objects.count(), WatchlistItem.objects.count()) == (2, 5)
    assert not UserList.objects.exists() and not ListItem.objects.exists()
    assert Comment.objects.count() == 3


@pytest.mark.django_db
def test_a_section_trakt_could_not_export_is_only_added_to(owner, tmp_path):  # noqa: F811
    (tmp_path / "a").mkdir()
    run(export(tmp_path / "a", history=10, ratings=0, watchlist=8))
    errors = [{"endpoint": "users/sean/watchlist", "error": "HTTP 502", "fetchedPages": 1,
               "totalPages": 2}]  # fmt: skip
    (tmp_path / "b").mkdir()

    out = run(export(tmp_path / "b", history=10, ratings=0, watchlist=3,
                     extra=[("_errors.json", errors)]))  # fmt: skip

    assert WatchlistItem.objects.count() == 8  # the five it did not list are still there
    assert "Trakt could not export users/sean/watchlist (1 of 2 pages)" in out


@pytest.mark.django_db
def test_a_list_whose_slug_ends_in_digits_finds_every_page_of_its_items(owner, tmp_path):  # noqa: F811
    top = {"name": "Top 10", "slug": "top-10", "trakt": 7, "items": 30}
    path = export(tmp_path, history=10, ratings=0, page=20, lists=[top])

    run(path)

    items = ListItem.objects.order_by("position")
    assert list(items.values_list("position", flat=True)) == list(range(30))
    assert UserList.objects.get().slug == "top-10"


@pytest.mark.django_db
def test_import_then_sync_keeps_one_row_per_library_item(owner, tmp_path, reset_fake):  # noqa: F811
    reset_fake.set(history=40, ratings=0, **LIBRARY)
    run(export(tmp_path, history=40, ratings=0, **LIBRARY))
    imported = shelves()

    sync.sync(full=True, pace=False)

    assert shelves() == imported
