"""The owner's library mirrored by the sync: favourites, the watchlist, public lists and their
items, comments; which sections a run asks for; privacy; what moves during a walk."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from profile.mirror import sync
from profile.models import Comment, Favorite, ListItem, Title, UserList, WatchlistItem
from tests.fake_upstream import generated_movie
from tests.fake_upstream.library import comment, listed, movie, unwatched_movie

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]

USER = "trakt:/users/sean"
SECRET_NAMES = {
    "private": "Guilty Pleasures Kept Private",
    "friends": "Only For Friends Picks",
    "link": "Shared By Link Only",
}
PUBLIC_LISTS = [{"name": "Rainy Sundays", "items": 4}, {"name": "Best of 2024", "items": 2}]


@pytest.fixture
def fake(reset_fake):
    return reset_fake


def run(**options) -> sync.Outcome:
    return sync.sync(pace=False, **options)


def library_calls(fake) -> dict[str, int]:
    return {
        key: n
        for key, n in fake.call_log().items()
        if key.startswith(USER) and not key.endswith(("/history", "movies", "shows", "episodes"))
    }


def secret_lists() -> list[dict]:
    return [
        {"name": name, "privacy": privacy, "description": f"{name}: not for the public."}
        for privacy, name in SECRET_NAMES.items()
    ]


def test_a_full_refresh_of_a_typical_owner_mirrors_it_all_in_at_most_30_calls(fake):
    # A 250-item watchlist and then some, 10 lists (7 public), 200 comments, favourites.
    lists = [{"name": f"Public {n}", "items": 12} for n in range(7)] + secret_lists()
    fake.set(history=20, favorites=6, watchlist=260, lists=lists, comments=200)

    outcome = run()

    assert outcome.library == {"favorites": 6, "watchlist": 260, "lists": 7, "comments": 200}
    # Favourites 1, watchlist 2 (250 + 10), lists 1 + 7 public lists' items, comments 1.
    assert outcome.library_calls == 12 <= 30
    assert outcome.summary().endswith("Trakt calls (12 for favourites, watchlist, lists, comments)")
    assert WatchlistItem.objects.count() == 260
    assert list(WatchlistItem.objects.values_list("rank", flat=True)) == list(range(1, 261))
    assert UserList.objects.count() == 7 and ListItem.objects.count() == 7 * 12
    assert Comment.objects.count() == 200


def test_the_watchlist_is_asked_a_page_at_a_time_past_trakts_cap(fake):
    # Unpaged, Trakt sends 100 items and says that was all: every call sends `limit`.
    fake.set(watchlist=520)

    run()

    assert WatchlistItem.objects.count() == 520
    assert fake.calls(f"{USER}/watchlist") == 3  # 250 + 250 + 20


def test_a_list_past_trakts_cap_is_stored_whole_in_its_own_order(fake):
    fake.set(lists=[{"name": "Every Film", "items": 260}])

    run()

    items = UserList.objects.get().items.select_related("title")
    assert [i.position for i in items] == list(range(260))
    assert [i.notes for i in items][-2:] == ["Note 259", "Note 260"]
    assert fake.calls(f"{USER}/lists/") == 2  # its items: 250 + 10


def test_what_the_library_holds_is_stored_as_trakt_gave_it(fake):
    review = "Still the best heist. [spoiler]The twist at the end[/spoiler] works every time."
    fake.set(
        history=10,
        favorites=[listed(movie(generated_movie(3)), 2), listed(movie(unwatched_movie(1)), 1)],
        watchlist=5,
        lists=[{"name": "Rainy Sundays", "items": 3, "description": "Films for grey days."}],
        comments=[
            comment(1, movie(generated_movie(3)), review, review=True, spoiler=True, user_rating=9),
            comment(2, movie(generated_movie(3)), "A reply.", parent_id=77),
        ],
    )

    run()

    # Favourites in the owner's order; a title never played joins the titles all the same.
    favorites = [f.title.title for f in Favorite.objects.select_related("title")]
    assert favorites == ["Wanted Film 1", generated_movie(3)["title"]]
    wanted = Title.objects.get(title="Wanted Film 1")
    assert not wanted.plays.exists() and wanted.overview.startswith("A generated film")
    assert wanted.search_key == "wanted film 1"
    kinds = set(WatchlistItem.objects.values_list("kind", flat=True))
    assert kinds == {"movie", "show", "season", "episode"}
    season = WatchlistItem.objects.get(kind="season")
    assert season.season == 2 and season.title.kind == "show"
    episode = WatchlistItem.objects.get(kind="episode")
    assert (episode.episode.season, episode.episode.number) == (1, 4)
    rainy = UserList.objects.get()
    assert (rainy.slug, rainy.description) == ("rainy-sundays", "Films for grey days.")
    items = rainy.items.select_related("title")
    assert [(i.position, i.notes) for i in items] == [(0, "Note 1"), (1, "Note 2"), (2, "Note 3")]
    # The review, whole and flagged; a reply out of its thread is left out.
    stored = Comment.objects.get()
    assert (stored.text, stored.review, stored.spoiler, stored.user_rating) == (
        review,
        True,
        True,
        9,
    )


# --- Privacy --------------------------------------------------------------------------------------


def database_files() -> list[Path]:
    name = Path(connection.settings_dict["NAME"])
    return [path for path in (name, Path(f"{name}-wal")) if path.exists()]


def assert_nowhere_in_the_database(*texts: str) -> None:
    """Not in any row, and (SQLite) not in the database file's bytes either."""
    for model in (UserList, ListItem, Title, WatchlistItem, Favorite, Comment):
        for row in model.objects.values():
            for text in texts:
                assert text not in repr(row), (model.__name__, text)
    if connection.vendor == "sqlite":
        files = database_files()
        assert files
        for path in files:
            data = path.read_bytes()
            for text in texts:
                assert text.encode() not in data, (path.name, text)


@pytest.mark.django_db(transaction=True)  # committed: the database file is what is scanned
def test_only_public_lists_are_ever_stored(fake):
    fake.set(lists=PUBLIC_LISTS + secret_lists())

    run()

    assert sorted(UserList.objects.values_list("name", flat=True)) == [
        "Best of 2024",
        "Rainy Sundays",
    ]
    # Nor were their items asked for.
    assert fake.calls(f"{USER}/lists/") == 2
    assert_nowhere_in_the_database(*SECRET_NAMES.values(), "not for the public")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("privacy", ["private", "friends", "link", "something-new"])
def test_a_list_made_private_later_disappears_at_the_next_sync(fake, privacy):
    secret = {"name": "Weekend Picks Qz7", "description": "Descr Qz7", "items": 3, "trakt": 900}
    fake.set(lists=[secret, *PUBLIC_LISTS])
    run()
    assert UserList.objects.filter(name="Weekend Picks Qz7").exists()
    only_there = list(ListItem.objects.filter(list__trakt_id=900).values_list("title", flat=True))

    fake.set(lists=[secret | {"privacy": privacy}, *PUBLIC_LISTS])
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        run()

    assert not UserList.objects.filter(trakt_id=900).exists()
    assert not ListItem.objects.filter(list__trakt_id=900).exists()
    # The titles it alone held are gone too (no play, no other list points at them).
    assert not Title.objects.filter(pk__in=only_there).exists()
    assert UserList.objects.count() == 2
    assert_nowhere_in_the_database("Weekend Picks Qz7", "Descr Qz7")


def test_a_section_trakt_withholds_is_not_shown_here_either(fake):
    fake.set(watchlist=5, favorites=3)
    run()
    assert Favorite.objects.count() == 3

    # Trakt now refuses the favourites without the owner's token (as its contract allows).
    fake.set(library_refused=["favorites"])
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        outcome = run()

    assert outcome.library["favorites"] == 0
    assert Favorite.objects.count() == 0 and WatchlistItem.objects.count() == 5


# --- Which sections a run asks for ----------------------------------------------------------------


def test_without_a_token_each_section_is_asked_again_at_most_hourly(fake):
    fake.set(history=10, watchlist=3, lists=PUBLIC_LISTS)
    run()
    before = fake.calls()

    second = run()
    assert fake.calls() - before == 1 and second.library == {}  # the history's page only

    fake.set(watchlist=4)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61)):
        third = run()
    assert third.library["watchlist"] == 4
    assert set(third.library) == {"favorites", "watchlist", "lists", "comments"}
    # A list whose updated_at did not move is not asked for its items again.
    assert fake.calls(f"{USER}/lists/") == 2


def test_with_a_token_only_the_sections_that_moved_are_asked_for(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "a-token"
    fake.set(history=10, watchlist=3, favorites=2, lists=PUBLIC_LISTS, comments=4)
    run()
    before = fake.call_log()

    assert run().calls == 1  # nothing moved: last_activities alone

    fake.set(watchlist=6)
    outcome = run()
    after = fake.call_log()
    moved = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)}
    assert moved == {"trakt:/sync/last_activities": 2, "trakt:/users/me/watchlist": 1}
    assert outcome.library == {"watchlist": 6}
    assert WatchlistItem.objects.count() == 6


def test_a_full_sync_asks_every_section_and_every_lists_items(fake):
    fake.set(history=10, lists=PUBLIC_LISTS)
    run()

    outcome = run(full=True)

    assert set(outcome.library) == {"favorites", "watchlist", "lists", "comments"}
    assert fake.calls(f"{USER}/lists/") == 4  # both lists' items, twice


# --- What moves during a walk ---------------------------------------------------------------------


def test_an_item_added_on_top_while_the_watchlist_is_walked_costs_nothing(fake):
    # Page 1 read, then an item is added at rank 1: page 2 starts one item later, so the
    # walk reads one item twice and misses none it had; it removes nothing it did not see.
    items = [listed(movie(unwatched_movie(n)), n + 1) for n in range(300)]
    moved = [listed(movie(unwatched_movie(999)), 1)] + [
        item | {"rank": item["rank"] + 1} for item in items
    ]
    fake.set(watchlist=items)
    run()
    assert WatchlistItem.objects.count() == 300
    items_again = items[:-1]  # the last one removed

    fake.set(watchlist=items_again, library_moves={"watchlist": {"watchlist": moved}})
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        run()

    # Inexact (the count moved): nothing removed; the next walk settles it.
    assert WatchlistItem.objects.count() == 300
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=4)):
        run()
    assert WatchlistItem.objects.count() == 301
    assert WatchlistItem.objects.order_by("rank").first().title.title == "Wanted Film 999"


def test_an_item_removed_on_trakt_is_removed_by_the_next_exact_walk(fake):
    fake.set(watchlist=5, comments=3, favorites=2)
    run()

    fake.set(watchlist=4, comments=2, favorites=1)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        run()

    counts = (WatchlistItem.objects.count(), Comment.objects.count(), Favorite.objects.count())
    assert counts == (4, 2, 1)


def test_a_title_renamed_on_trakt_is_renamed_here(fake):
    renamed = unwatched_movie(5) | {"title": "Wanted Film Five (Director's Cut)"}
    fake.set(watchlist=[listed(movie(unwatched_movie(5)), 1)])
    run()

    fake.set(watchlist=[listed(movie(renamed), 1)])
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        run()

    title = WatchlistItem.objects.get().title
    assert title.title == "Wanted Film Five (Director's Cut)"
    assert title.search_key == "wanted film five directors cut"
