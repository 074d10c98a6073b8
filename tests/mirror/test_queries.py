"""The aggregates of the mirror (profile/stats.py), the same on SQLite and PostgreSQL."""

from datetime import date, timedelta

import pytest

from profile.api import serialize
from profile.mirror import queries
from profile.mirror import review as reviews
from profile.mirror import state as mirror_state
from profile.pages import figures
from tests import mirror

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


# --- Days ---------------------------------------------------------------------------------------


def test_activity_has_every_day_of_the_range_zeros_included():
    film = mirror.title(runtime=90)
    mirror.play(film, "2024-05-02T20:00:00Z")
    mirror.play(film, "2024-05-02T22:00:00Z")
    mirror.play(film, "2024-05-04T20:00:00Z", runtime=30)

    days = queries.activity(date(2024, 5, 1), date(2024, 5, 5))

    assert [(d.date.day, d.plays, d.minutes) for d in days] == [
        (1, 0, 0),
        (2, 2, 180),
        (3, 0, 0),
        (4, 1, 30),
        (5, 0, 0),
    ]


@pytest.mark.parametrize(
    ("zone", "moments", "expected"),
    [
        # Berlin: 23:30 and 00:30 local around the spring and autumn changes of 2024.
        (
            "Europe/Berlin",
            ["2024-03-30T22:30:00Z", "2024-03-30T23:30:00Z", "2024-10-26T21:30:00Z",
             "2024-10-26T22:30:00Z"],
            {date(2024, 3, 30): 1, date(2024, 3, 31): 1, date(2024, 10, 26): 1,
             date(2024, 10, 27): 1},
        ),
        # New York changes at 02:00 on 10 March and 3 November 2024.
        (
            "America/New_York",
            ["2024-03-10T04:30:00Z", "2024-03-10T05:30:00Z", "2024-11-03T03:30:00Z",
             "2024-11-03T04:30:00Z"],
            {date(2024, 3, 9): 1, date(2024, 3, 10): 1, date(2024, 11, 2): 1,
             date(2024, 11, 3): 1},
        ),
    ],
)  # fmt: skip
def test_plays_at_2330_and_0030_around_dst_changes_are_counted_on_their_local_days(
    settings, zone, moments, expected
):
    settings.TIME_ZONE = zone
    film = mirror.title()
    for moment in moments:
        mirror.play(film, moment)

    days = queries.activity(date(2024, 1, 1), date(2024, 12, 31))
    hours, _ = queries.when()

    assert {d.date: d.plays for d in days if d.plays} == expected
    assert {h.label: h.plays for h in hours if h.plays} == {"23": 2, "00": 2}


def test_the_heatmap_range_is_53_weeks_from_a_monday_to_today():
    start, end = queries.heatmap_range(date(2024, 5, 15))  # a Wednesday

    assert start.weekday() == 0
    assert end == date(2024, 5, 15)
    assert (end - start).days == 52 * 7 + 2


def test_streaks_count_days_in_a_row_up_to_today_or_yesterday():
    film = mirror.title()
    for day in (1, 2, 3, 4, 10, 11, 12):  # a 4-day streak, then a 3-day one to the 12th
        mirror.play(film, f"2024-05-{day:02d}T20:00:00Z")

    assert queries.streaks(date(2024, 5, 12)) == queries.Streaks(3, 4, date(2024, 5, 4), 7)
    assert queries.streaks(date(2024, 5, 13)).current == 3  # today is not over yet
    assert queries.streaks(date(2024, 5, 14)).current == 0


# --- When and taste -----------------------------------------------------------------------------


def test_plays_by_hour_and_weekday_are_in_the_owners_time(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    film = mirror.title(runtime=60)
    mirror.play(film, "2024-05-06T13:00:00Z")  # Monday 22:00 in Tokyo
    mirror.play(film, "2024-05-06T15:30:00Z")  # Tuesday 00:30

    hours, weekdays = queries.when()

    assert [(h.label, h.plays, h.minutes) for h in hours if h.plays] == [
        ("00", 1, 60),
        ("22", 1, 60),
    ]
    assert [(d.label, d.plays) for d in weekdays if d.plays] == [("Mon", 1), ("Tue", 1)]


def test_genres_are_ranked_by_time_and_a_title_counts_for_each_of_its_genres():
    both = mirror.title("Both", genres=("drama", "comedy"), runtime=100)
    drama = mirror.title("Drama", genres=("drama",), runtime=50)
    mirror.title("Unwatched", genres=("horror",))
    mirror.play(both, "2024-05-01T20:00:00Z")
    mirror.play(drama, "2024-05-02T20:00:00Z")
    mirror.play(drama, "2024-05-03T20:00:00Z")

    genres = queries.top_genres(queries.title_totals())

    assert [(g.slug, g.name, g.minutes, g.plays) for g in genres] == [
        ("drama", "Drama", 200, 3),
        ("comedy", "Comedy", 100, 1),
    ]


def test_most_watched_shows_and_most_rewatched_movies():
    big, small = mirror.show("Big"), mirror.show("Small")
    for n in range(1, 4):
        mirror.play(mirror.episode(big, 1, n), f"2024-05-0{n}T20:00:00Z")
    mirror.play(mirror.episode(small, 1, 1), "2024-05-04T20:00:00Z")
    twice, once = mirror.title("Twice"), mirror.title("Once")
    mirror.play(twice, "2024-05-01T18:00:00Z")
    mirror.play(twice, "2024-06-01T18:00:00Z")
    mirror.play(once, "2024-05-01T16:00:00Z")
    totals = queries.title_totals()

    shows = queries.top_titles(totals, "episode")
    rewatched = queries.top_titles(totals, "movie", at_least=2)

    assert [(s.title.title, s.plays) for s in shows] == [("Big", 3), ("Small", 1)]
    assert [(m.title.title, m.plays) for m in rewatched] == [("Twice", 2)]


def test_ratings_are_compared_with_the_communitys():
    loved = mirror.title("Loved", rating=5.2, votes=100)
    hated = mirror.title("Hated", rating=8.9, votes=1000)
    level = mirror.title("Level", rating=7.4, votes=50)
    obscure = mirror.title("Obscure", rating=2.0, votes=3)  # too few votes to count
    series = mirror.show("Series")
    pilot = mirror.episode(series, community_rating=6.0, community_votes=20)
    mirror.rate(loved, 10)
    mirror.rate(hated, 2)
    mirror.rate(level, 7)
    mirror.rate(obscure, 10)
    mirror.rate(pilot, 9)

    comparison = queries.rating_comparison(limit=3)

    assert comparison.count == 4
    assert comparison.mean == pytest.approx((4.8 - 6.9 - 0.4 + 3.0) / 4)
    assert (comparison.higher, comparison.lower) == (2, 1)
    spread = dict(comparison.spread)
    assert (spread[5], spread[-7], spread[0], spread[3]) == (1, 1, 1, 1)
    assert sum(spread.values()) == 4
    assert [(d.title.title, d.episode, d.yours) for d in comparison.disagreements] == [
        ("Hated", None, 2),
        ("Loved", None, 10),
        ("Series", "S1E1", 9),
    ]


def test_no_ratings_no_comparison():
    assert queries.rating_comparison() is None


# --- Years --------------------------------------------------------------------------------------


def test_years_are_every_year_with_plays_newest_first(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    film = mirror.title(runtime=100)
    mirror.play(film, "2022-06-01T20:00:00Z")
    mirror.play(film, "2023-12-31T23:30:00Z")  # already 2024 in Berlin

    assert [(y.year, y.plays, y.minutes) for y in reviews.year_totals()] == [
        (2024, 1, 100),
        (2022, 1, 100),
    ]
    assert reviews.year_list() == [2024, 2022]


def test_the_year_in_review_has_its_totals_months_tops_first_and_last():
    film, other = mirror.title("Film", runtime=100, genres=("drama",)), mirror.title("Other")
    series = mirror.show("Series", genres=("comedy",))
    mirror.play(film, "2024-01-05T20:00:00Z")
    mirror.play(film, "2024-03-05T20:00:00Z")
    mirror.play(other, "2023-12-31T20:00:00Z")  # another year
    mirror.play(mirror.episode(series, 1, 1, runtime=30), "2024-12-30T20:00:00Z")

    review = reviews.year_review(2024)

    assert review.totals == reviews.Totals(3, 230, 2, 200, 1, 30, 3, 2)
    assert [(m.name, m.plays, m.minutes) for m in review.months if m.plays] == [
        ("Jan", 1, 100),
        ("Mar", 1, 100),
        ("Dec", 1, 30),
    ]
    assert len(review.months) == 12
    assert [g.slug for g in review.genres] == ["drama", "comedy"]
    assert [m.title.title for m in review.movies] == ["Film"]
    assert [s.title.title for s in review.shows] == ["Series"]
    assert review.first.title.title == "Film" and review.first.watched_at.month == 1
    assert review.last.episode.code == "S1E1"


def test_a_year_without_plays_has_no_review():
    mirror.play(mirror.title(), "2024-01-05T20:00:00Z")

    assert reviews.year_review(2023) is None
    assert reviews.year_review(99999) is None


def test_the_longest_binge_is_one_show_with_gaps_under_an_hour():
    series, other = mirror.show("Series", runtime=40), mirror.show("Other", runtime=40)
    episodes = [mirror.episode(series, 1, n) for n in range(1, 6)]
    # Each ends 40 min after the last ended plus a gap: 0, 59 min, then an hour (a break).
    mirror.play(episodes[0], "2024-02-01T20:00:00Z")
    mirror.play(episodes[1], "2024-02-01T20:40:00Z")
    mirror.play(episodes[2], "2024-02-01T21:59:00Z")
    mirror.play(episodes[3], "2024-02-01T23:39:00Z")  # 60 minutes after: a new run
    mirror.play(episodes[4], "2024-02-02T00:19:00Z")
    # Another show's three plays a day apart never make a binge.
    for day in (3, 4, 5):
        mirror.play(mirror.episode(other, 1, day), f"2024-02-0{day}T20:00:00Z")

    binge = reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31))

    assert (binge.title.title, binge.episodes, binge.minutes) == ("Series", 3, 120)
    assert binge.started.isoformat().startswith("2024-02-01T19:20")
    assert binge.ended.isoformat().startswith("2024-02-01T21:59")


def test_no_binge_without_two_episodes_in_a_row():
    series = mirror.show("Series")
    mirror.play(mirror.episode(series), "2024-02-01T20:00:00Z")

    assert reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31)) is None


# --- Lists --------------------------------------------------------------------------------------


def test_recently_watched_is_each_title_once_with_its_latest_play():
    series, film = mirror.show("Series"), mirror.title("Film")
    mirror.play(mirror.episode(series, 1, 1), "2024-05-01T20:00:00Z")
    mirror.play(film, "2024-05-01T22:00:00Z")
    mirror.play(mirror.episode(series, 1, 2), "2024-05-02T20:00:00Z")

    recent = queries.recent()

    assert [(r.title.title, r.episode.code if r.episode else None) for r in recent] == [
        ("Series", "S1E2"),
        ("Film", None),
    ]


def test_cached_figures_are_recomputed_when_the_mirror_changes():
    film = mirror.title()
    mirror.play(film, "2024-05-01T20:00:00Z")
    first = mirror_state.cached(mirror_state.mirror(), "count", lambda: len(queries.days()))

    mirror.play(film, "2024-05-02T20:00:00Z")
    second = mirror_state.cached(mirror_state.mirror(), "count", lambda: len(queries.days()))
    again = mirror_state.cached(mirror_state.mirror(), "count", lambda: 999)

    assert (first, second, again) == (1, 2, 2)


def test_a_play_item_reads_like_the_api_says():
    series = mirror.show("Series", tmdb_id=1396, imdb_id="tt0903747", year=2008)
    pilot = mirror.episode(series, 0, 2, title="Wedding Day", imdb_id="")
    mirror.play(pilot, "2024-05-01T20:00:00.123Z", history_id=42)

    body = serialize.play_json(queries.recent()[0])

    assert body["id"] == 42
    assert body["watched_at"] == "2024-05-01T20:00:00.123Z"
    assert body["subtitle"] == "S0E2 - Wedding Day"
    assert body["ids"] == {"trakt": series.trakt_id, "tmdb": 1396, "imdb": "tt0903747"}
    assert body["links"]["trakt"].endswith("/seasons/0/episodes/2")
    assert body["links"]["tmdb"] == "https://www.themoviedb.org/tv/1396/season/0/episode/2"
    assert body["links"]["imdb"] is None  # the episode has no IMDb page of its own
    assert body["episode"]["title"] == "Wedding Day"


def test_a_long_history_keeps_the_figures_whole():
    film = mirror.title(runtime=10)
    start = date(2024, 1, 1)
    for n in range(40):
        mirror.play(film, f"{start + timedelta(days=n)}T12:00:00+00:00")

    assert queries.streaks(start + timedelta(days=39)).current == 40
    assert sum(d.plays for d in queries.activity(start, start + timedelta(days=60))) == 40


# --- In the database ------------------------------------------------------------------------------


def queries_of(compute) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        compute()
    return [query["sql"] for query in captured.captured_queries]


def some_plays(year: int, shows: int, films: int) -> None:
    """Binges of each show and a film a month, spread over the year."""
    for s in range(shows):
        series = mirror.show(f"Series {s}", genres=("drama",), runtime=40)
        for n in range(1, 4):  # three in a row: a binge
            minute = 40 * n
            moment = f"{year}-0{1 + s % 9}-1{s % 10}T{20 + minute // 60}:{minute % 60:02d}:00Z"
            mirror.play(mirror.episode(series, 1, n), moment)
    for f in range(films):
        mirror.play(
            mirror.title(f"Film {f}", genres=("comedy",)), f"{year}-{1 + f % 12:02d}-03T20:00:00Z"
        )


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param(lambda: reviews.year_review(2024), id="the year in review"),
        pytest.param(lambda: figures._home_figures(date(2024, 12, 31), "UTC"), id="the page"),
    ],
)
def test_the_figures_are_a_fixed_few_aggregate_queries_however_many_plays(figures):
    some_plays(2024, shows=1, films=1)
    few = queries_of(figures)
    some_plays(2024, shows=6, films=30)

    many = queries_of(figures)

    assert len(many) == len(few)
    # Every query over the plays reduces them in the database (or reads a row or a few).
    for sql in many:
        if '"profile_play"' in sql.split(" WHERE ")[0]:
            assert "GROUP BY" in sql or "LIMIT" in sql or "COUNT(" in sql or "MIN(" in sql
