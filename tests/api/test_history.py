"""/api/history, /api/activity and /api/year/{yyyy}: answers, parameters and the contract."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.db import DatabaseError

from profile.api import views as api_views
from profile.mirror import diary
from tests import mirror
from tests.contract import assert_matches_openapi

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


@pytest.fixture
def watched(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    film = mirror.title(
        "Super 8", runtime=112, genres=("drama",), year=2011, tmdb_id=37686,
        imdb_id="tt1650062", slug="super-8-2011", poster_path="/p.jpg",
    )  # fmt: skip
    series = mirror.show("Breaking Bad", runtime=47, genres=("crime",), tmdb_id=1396)
    mirror.play(film, "2024-03-30T22:30:00Z", history_id=1)  # 23:30 in Berlin, on the 30th
    mirror.play(film, "2024-03-30T23:30:00Z", history_id=2)  # 00:30 (summer time) on the 31st
    for n, at in enumerate(("19:00", "19:47", "20:34"), start=1):
        mirror.play(mirror.episode(series, 1, n), f"2025-02-01T{at}:00Z", history_id=10 + n)
    return film, series


def get(client, path: str, template: str | None = None, **params):
    response = client.get(path, params)
    assert_matches_openapi(response, template or path)
    return response


# --- /api/history -------------------------------------------------------------------------------


def test_history_lists_plays_newest_first(client, watched):
    body = get(client, "/api/history").json()

    assert [item["id"] for item in body["items"]] == [13, 12, 11, 2, 1]
    assert (body["page"], body["limit"], body["total"]) == (1, 50, 5)
    episode, movie = body["items"][0], body["items"][-1]
    assert episode["type"] == "episode" and episode["subtitle"] == "S1E3 - Episode 3"
    assert episode["episode"]["season"] == 1 and episode["title"] == "Breaking Bad"
    assert movie == {
        "id": 1,
        "watched_at": "2024-03-30T22:30:00.000Z",
        "action": "scrobble",
        "type": "movie",
        "title": "Super 8",
        "year": 2011,
        "runtime": 112,
        "ids": {"trakt": watched[0].trakt_id, "tmdb": 37686, "imdb": "tt1650062"},
        "links": {
            "trakt": "https://trakt.tv/movies/super-8-2011",
            "imdb": "https://www.imdb.com/title/tt1650062/",
            "tmdb": "https://www.themoviedb.org/movie/37686",
        },
        "poster": "https://image.tmdb.org/t/p/w342/p.jpg",
        "url": "/movies/super-8-2011",
        "rating": None,
        "episode_rating": None,
        "rewatch": False,
    }


def test_history_pages_and_filters(client, watched):
    second = get(client, "/api/history", page=2, limit=2).json()
    movies = get(client, "/api/history", type="movie").json()
    past = get(client, "/api/history", page=99).json()

    assert [i["id"] for i in second["items"]] == [11, 2]
    assert (second["page"], second["limit"], second["total"]) == (2, 2, 5)
    assert [i["id"] for i in movies["items"]] == [2, 1] and movies["total"] == 2
    assert past["items"] == [] and past["total"] == 5


def test_an_empty_mirror_has_an_empty_history(client):
    body = get(client, "/api/history").json()

    assert body == {"items": [], "page": 1, "limit": 50, "total": 0, "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
        ({"page": "99999999999999999999"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": " 5"}, "limit"),
        ({"limit": "٣"}, "limit"),  # a digit, but not an ASCII one
        ({"type": "show"}, "type"),
        ({"type": "MOVIE"}, "type"),
    ],
)
def test_bad_history_parameters_are_a_400_that_names_them(client, watched, params, named):
    response = get(client, "/api/history", **params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith(f"{named} must be")


def test_unknown_parameters_are_ignored(client, watched):
    assert get(client, "/api/history", sort="oldest", foo="bar").status_code == 200


# --- /api/activity ------------------------------------------------------------------------------


def test_activity_counts_local_days_across_a_dst_change(client, watched):
    body = get(client, "/api/activity", **{"from": "2024-03-29", "to": "2024-04-01"}).json()

    assert body == {
        "time_zone": "Europe/Berlin",
        "from": "2024-03-29",
        "to": "2024-04-01",
        "days": [
            {"date": "2024-03-29", "plays": 0, "minutes": 0},
            {"date": "2024-03-30", "plays": 1, "minutes": 112},
            {"date": "2024-03-31", "plays": 1, "minutes": 112},
            {"date": "2024-04-01", "plays": 0, "minutes": 0},
        ],
    }


def test_activity_defaults_to_the_last_365_days_up_to_today(client, watched):
    with time_machine.travel("2025-02-10T12:00:00Z", tick=False):
        body = get(client, "/api/activity").json()

    assert (body["from"], body["to"]) == ("2024-02-12", "2025-02-10")
    assert len(body["days"]) == 365
    assert sum(day["plays"] for day in body["days"]) == 5


def test_activity_from_alone_gives_365_days_from_it(client, watched):
    body = get(client, "/api/activity", **{"from": "2024-01-01"}).json()

    assert (body["from"], body["to"]) == ("2024-01-01", "2024-12-30")


def test_activity_takes_366_days_and_no_more(client, watched):
    start = date(2024, 1, 1)
    ok = get(client, "/api/activity", **{"from": str(start), "to": str(start + timedelta(365))})
    too_long = get(
        client, "/api/activity", **{"from": str(start), "to": str(start + timedelta(366))}
    )

    assert len(ok.json()["days"]) == 366
    assert too_long.status_code == 400
    assert too_long.json()["error"]["message"] == "from and to may span at most 366 days."


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "2024-13-01"}, "from"),
        ({"from": "2024-02-30"}, "from"),
        ({"from": "20240101"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-1-1"}, "to"),
        ({"to": ""}, "to"),
        ({"from": "2024-05-02", "to": "2024-05-01"}, "from"),
        # The calendar's ends, where a day more or less is no date (an OverflowError once).
        ({"to": "0001-01-01"}, "to"),
        ({"to": "0001-12-30"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "9999-01-01"}, "from"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
        ({"from": "1899-12-31"}, "from"),
        ({"from": "2200-01-01", "to": "2201-01-01"}, "to"),
    ],
)
def test_bad_activity_parameters_are_a_400_that_names_them(client, watched, params, named):
    response = get(client, "/api/activity", **params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert response.json()["error"]["message"].startswith(f"{named} must")


def test_a_date_beyond_the_calendar_the_mirror_holds_says_which_days_it_takes(client, watched):
    message = get(client, "/api/activity", to="9999-12-31").json()["error"]["message"]

    assert message == "to must be a date from 1900-01-01 to 2200-12-31, not '9999-12-31'."


def test_the_calendar_the_mirror_holds_is_answered_to_its_ends(client, watched):
    first = get(client, "/api/activity", **{"from": "1900-01-01", "to": "1900-12-31"})
    last = get(client, "/api/activity", **{"from": "2200-01-01", "to": "2200-12-31"})
    only_from = get(client, "/api/activity", **{"from": "2200-12-31"})

    assert first.status_code == last.status_code == only_from.status_code == 200
    assert len(first.json()["days"]) == len(last.json()["days"]) == 365
    assert only_from.json()["to"] == "2200-12-31"


# --- /api/year/{yyyy} ---------------------------------------------------------------------------


def test_the_year_in_figures(client, watched):
    body = get(client, "/api/year/2025", "/api/year/{yyyy}").json()

    assert (body["year"], body["time_zone"], body["plays"], body["minutes"]) == (
        2025,
        "Europe/Berlin",
        3,
        141,
    )
    assert body["episodes"] == {"plays": 3, "minutes": 141}
    assert body["movies"] == {"plays": 0, "minutes": 0}
    assert [m["plays"] for m in body["months"]] == [0, 3] + [0] * 10
    assert body["genres"] == [{"slug": "crime", "name": "Crime", "plays": 3, "minutes": 141}]
    assert body["top_shows"][0]["title"] == "Breaking Bad" and body["top_movies"] == []
    assert body["longest_binge"]["episodes"] == 3
    assert body["longest_binge"]["started_at"] == "2025-02-01T18:13:00.000Z"
    assert (body["first"]["id"], body["last"]["id"]) == (11, 13)


def test_a_year_without_plays_is_a_404(client, watched):
    response = get(client, "/api/year/2023", "/api/year/{yyyy}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_year_that_is_not_a_year_is_a_404(client, watched):
    for path in ("/api/year/0", "/api/year/123456789012", "/api/year/abc"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_the_year_answer_follows_the_mirror(client, watched):
    get(client, "/api/year/2025", "/api/year/{yyyy}")
    mirror.play(watched[0], "2025-06-01T20:00:00Z")

    body = get(client, "/api/year/2025", "/api/year/{yyyy}").json()

    assert body["plays"] == 4 and body["movies"]["plays"] == 1


# --- Failures and headers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/history", None),
        ("/api/activity", None),
        ("/api/year/2025", "/api/year/{yyyy}"),
    ],
)
def test_an_unreadable_database_is_a_503_not_a_500(client, monkeypatch, path, template):
    def broken(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(api_views, "mirror", broken)
    monkeypatch.setattr(diary, "diary_page", broken)

    response = get(client, path, template)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "history_unavailable"


def test_answers_revalidate_with_an_etag(client, watched):
    first = client.get("/api/history")
    again = client.get("/api/history", headers={"If-None-Match": first["ETag"]})

    assert "no-cache" in first["Cache-Control"]
    assert again.status_code == 304
    assert_matches_openapi(again, "/api/history")


def test_demo_answers_say_so(client, settings, watched):
    settings.DEMO_MODE = True

    assert get(client, "/api/history").json()["demo"] is True
    assert get(client, "/api/activity").json()["demo"] is True


def test_a_year_without_plays_stores_nothing_in_the_cache(client, watched):
    from django.core.cache import caches

    def year_keys() -> set[str]:
        return {key for key in caches["default"]._cache if re.search(r":year(-review)?:", key)}

    get(client, "/api/year/2025", "/api/year/{yyyy}")
    client.get("/year/2025")
    kept = year_keys()
    for year in (1, 1899, 1990, 2023, 2199, 9999, 123456789):
        assert client.get(f"/api/year/{year}").status_code == 404
        assert client.get(f"/year/{year}").status_code == 404

    assert len(kept) == 2  # the year with plays is kept, as the page and the API answer it
    assert year_keys() == kept
