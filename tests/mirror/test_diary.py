"""The diary: every play newest first, filters that combine, keyset pages (profile/mirror/diary.py)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profile.mirror import diary, sync
from profile.mirror.diary import DiaryPage, Filters, Key, diary_page
from tests import mirror

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


def ids(page: DiaryPage) -> list[int]:
    return [entry.item.history_id for entry in page.entries]


@pytest.fixture
def watched(settings):
    """Two films and a show in Lisbon's time, rated, one film watched twice."""
    settings.TIME_ZONE = "Europe/Lisbon"
    film = mirror.title("Super 8", genres=("drama",), year=2011, slug="super-8-2011")
    other = mirror.title("Heat", genres=("crime",), year=1995, slug="heat-1995")
    show = mirror.show("Saltmarsh", genres=("drama", "mystery"), slug="saltmarsh")
    mirror.play(film, "2024-05-03T21:10:00Z", history_id=1)  # a Friday, 22:10 local
    mirror.play(other, "2024-06-01T13:00:00Z", history_id=2)  # a Saturday
    mirror.play(film, "2025-01-10T20:00:00Z", history_id=3)  # a rewatch, a Friday, 20:00
    for n, at in enumerate(("19:00", "19:50", "20:40"), start=1):
        mirror.play(mirror.episode(show, 1, n), f"2025-02-01T{at}:00Z", history_id=10 + n)
    mirror.rate(film, 9)
    mirror.rate(show, 7)
    return film, other, show


def test_plays_come_newest_first_by_page_number_and_by_type():
    series, film = mirror.show("Series"), mirror.title("Film")
    for n in range(5):
        mirror.play(film, f"2024-05-0{n + 1}T20:00:00Z", history_id=100 + n)
    mirror.play(mirror.episode(series), "2024-05-09T20:00:00Z", history_id=200)

    first = diary_page(Filters(), page=1, limit=4)
    second = diary_page(Filters(), page=2, limit=4)
    episodes = diary_page(Filters(type="episode"), page=1, limit=10)
    beyond = diary_page(Filters(), page=9, limit=4)

    assert first.total == 6 and episodes.total == 1
    assert ids(first) == [200, 104, 103, 102] and ids(second) == [101, 100]
    assert ids(episodes) == [200]
    assert beyond.entries == [] and beyond.older is None


def test_a_cursor_walks_the_same_pages_as_page_numbers(watched):
    by_number = [ids(diary_page(Filters(), page=n, limit=2)) for n in (1, 2, 3)]
    walked, after = [], None
    for _ in range(3):
        page = diary_page(Filters(), after=after, limit=2)
        walked.append(ids(page))
        after = page.older

    assert walked == by_number == [[13, 12], [11, 3], [2, 1]]
    assert after is None  # the last page says so


def test_before_goes_back_a_page(watched):
    second = diary_page(Filters(), after=diary_page(Filters(), limit=2).older, limit=2)

    back = diary_page(Filters(), before=second.newer, limit=2)

    assert ids(back) == [13, 12] and back.newer is None and back.older is not None


def test_a_keyset_page_seeks_its_key_and_never_skips_rows(watched):
    first = diary_page(Filters(), limit=2)

    with CaptureQueriesContext(connection) as queries:
        diary_page(Filters(genre="drama"), after=first.older, limit=2)

    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "OFFSET" not in sql


@pytest.mark.parametrize("direction", ["older", "newer"])
def test_a_keyset_bound_is_a_seek_in_the_index_not_a_scan_to_it(watched, direction):
    # An OR alone is read from the index's end up to the key: page 1,000 of 50,000 plays
    # cost three times page 1. SQLite's plan names the bound it seeks (PostgreSQL's planner
    # chooses by the table's size, which a test's few rows do not show).
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan")
    key = Key(datetime(2024, 6, 1, 13, tzinfo=UTC), 2)
    order = ("-watched_at", "-history_id") if direction == "older" else ("watched_at", "history_id")
    keys = Filters().plays().values_list("watched_at", "history_id")
    query = keys.filter(getattr(key, direction)()).order_by(*order)[:31]
    sql, params = query.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())

    assert "SEARCH" in plan and "watched_at" in plan, plan


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(type="movie"), [3, 2, 1]),
        (Filters(year=2024), [2, 1]),
        (Filters(month=date(2025, 2, 1)), [13, 12, 11]),
        (Filters(day=date(2024, 5, 3)), [1]),
        (Filters(hour=22), [1]),  # 21:10 UTC is 22:10 in Lisbon's summer
        (Filters(weekday=5), [3, 1]),  # Fridays
        (Filters(genre="drama"), [13, 12, 11, 3, 1]),
        (Filters(genre="drama", type="movie", year=2025), [3]),
        (Filters(show="saltmarsh"), [13, 12, 11]),
        (Filters(movie="super-8-2011"), [3, 1]),
        (Filters(movie="saltmarsh"), []),  # a show's slug is no movie's
        (Filters(show="nothing-like-it"), []),
        (Filters(rating=9), [3, 1]),
        (Filters(rating=7, weekday=6), [13, 12, 11]),  # 1 February 2025 was a Saturday
        (Filters(genre="no-such-genre"), []),
    ],
)
def test_filters_combine(watched, filters, expected):
    page = diary_page(filters)

    assert ids(page) == expected and page.total == len(expected)


def test_entries_carry_the_owners_ratings_and_rewatches(watched):
    entries = {entry.item.history_id: entry for entry in diary_page(Filters()).entries}

    assert (entries[1].rating, entries[1].rewatch) == (9, False)
    assert (entries[3].rating, entries[3].rewatch) == (9, True)
    assert (entries[11].rating, entries[11].rewatch) == (7, False)
    assert entries[2].rating is None
    assert entries[1].local_time.hour == 22 and entries[1].local_date == date(2024, 5, 3)


def test_a_play_removed_between_the_pages_reads_is_left_out(watched):
    # The keys were read, then the sync removed a play before its entry was.
    assert [entry.item.history_id for entry in diary.entries([3, 999_999, 1])] == [3, 1]


def test_days_group_a_page_by_the_owners_day(watched):
    days = diary_page(Filters()).days

    assert [(day, len(entries)) for day, entries in days] == [
        (date(2025, 2, 1), 3),
        (date(2025, 1, 10), 1),
        (date(2024, 6, 1), 1),
        (date(2024, 5, 3), 1),
    ]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 5, 3, 21, 10, 0, 123456, tzinfo=UTC),
        datetime(1955, 1, 1, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_a_cursor_names_its_key_exactly(moment):
    key = Key(moment, 1982347)

    assert Key.parse(key.cursor) == key


@pytest.mark.parametrize("cursor", ["", "abc", "1_", "_1", "1.2", "1_2_3", "9" * 30 + "_1", "1_-2"])
def test_anything_else_is_no_cursor(cursor):
    with pytest.raises(ValueError):
        Key.parse(cursor)


# --- Stable while a sync inserts plays --------------------------------------------------------------


@pytest.fixture
def fake(reset_fake):
    return reset_fake


def test_keyset_pages_hold_still_while_a_sync_inserts_new_plays(fake):
    step = timedelta(minutes=31)
    origin = datetime.now(UTC) - 400 * step
    fake.set(history=300, history_origin=origin.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    sync.sync(pace=False)
    first = diary_page(Filters(), limit=50)

    fake.set(history=320)  # twenty newer plays arrive between two pages
    sync.sync(pace=False)
    second = diary_page(Filters(), after=first.older, limit=50)
    shifted = diary_page(Filters(), page=2, limit=50)

    # The next page starts right after the last play seen: nothing twice, nothing missed.
    assert ids(second) == list(range(250, 200, -1))
    assert ids(first)[-1] == 251
    # A page number would have shown twenty plays again.
    assert ids(shifted)[:20] == ids(first)[-20:]
    walked, after = ids(first) + ids(second), second.older
    while after is not None:
        page = diary_page(Filters(), after=after, limit=50)
        walked += ids(page)
        after = page.older
    assert walked == list(range(300, 0, -1))
