"""The library's endpoints and /api/history's filters and cursor: answers, parameters, the
contract; and privacy: a private list is nowhere, in the pages, the API or the database file."""

from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from profile.api.openapi import api_endpoints
from profile.mirror import sync
from profile.mirror.posters import titles_wanting_posters
from profile.models import Comment, ListItem, Title, UserList, WatchlistItem
from tests.contract import assert_matches_openapi
from tests.pages.test_browse_pages import make_library
from tests.test_security_secrets import body

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


@pytest.fixture
def library(settings, reset_fake):
    return make_library(settings, reset_fake)


def get(client, path: str, template: str | None = None, **params):
    response = client.get(path, params)
    assert_matches_openapi(response, template or path)
    return response


def test_favorites_and_the_watchlist(client, library):
    favorites = get(client, "/api/favorites").json()
    watchlist = get(client, "/api/watchlist", limit=1).json()
    rest = get(client, "/api/watchlist", limit=1, page=2).json()

    assert [(i["title"], i["url"], i["plays"]) for i in favorites["items"]] == [
        ("Super 8", "/movies/super-8-2011", 2)
    ]
    assert (watchlist["page"], watchlist["limit"], watchlist["total"]) == (1, 1, 2)
    assert watchlist["items"][0]["title"] == "The Lantern Archive"
    assert watchlist["items"][0]["plays"] == 0
    assert (rest["items"][0]["item_type"], rest["items"][0]["season"]) == ("season", 2)


def test_the_lists_and_a_list(client, library):
    lists = get(client, "/api/lists").json()["lists"]
    rainy = get(client, "/api/lists/rainy-sundays", "/api/lists/{slug}").json()
    missing = get(client, "/api/lists/nope", "/api/lists/{slug}")

    assert [(lst["slug"], lst["items"], lst["url"]) for lst in lists] == [
        ("rainy-sundays", 2, "/lists/rainy-sundays")
    ]
    assert [i["title"] for i in rainy["items"]] == ["The Lantern Archive", "Super 8"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_a_movie_and_a_show(client, library):
    movie = get(client, "/api/titles/movies/super-8-2011", "/api/titles/movies/{slug}").json()
    show = get(client, "/api/titles/shows/saltmarsh", "/api/titles/shows/{slug}").json()

    assert movie["rating"]["value"] == 9 and movie["title"]["community_rating"] == 7.1
    assert (movie["plays"]["count"], len(movie["plays"]["latest"])) == (2, 2)
    assert movie["plays"]["latest"][0]["rewatch"] is True
    assert movie["lists"] == [
        {"slug": "rainy-sundays", "name": "Rainy Sundays", "url": "/lists/rainy-sundays"}
    ]
    assert movie["favorite"] is True and movie["on_watchlist"] is False
    assert movie["comments"][0]["review"] is True and "[spoiler]" in movie["comments"][0]["text"]
    assert [e["plays"] for e in show["seasons"][0]["episodes"]] == [1, 1, 0, 1]
    assert show["plays"]["episodes_watched"] == 3 and show["longest_binge"]["episodes"] == 2
    assert "seasons" not in movie


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/titles/movies/saltmarsh", "/api/titles/movies/{slug}"),
        ("/api/titles/shows/super-8-2011", "/api/titles/shows/{slug}"),
        ("/api/titles/movies/%00", "/api/titles/movies/{slug}"),
        ("/api/titles/movies/" + quote("a" * 300), "/api/titles/movies/{slug}"),
    ],
)
def test_an_unknown_title_is_a_404(client, library, path, template):
    response = client.get(path)

    assert response.status_code == 404
    assert_matches_openapi(response, template)


def test_search(client, library):
    found = get(client, "/api/search", q="lantern").json()
    empty = get(client, "/api/search", q="").json()
    long = get(client, "/api/search", q="é" * 600).json()

    assert [(i["title"], i["on_watchlist"], i["exact"]) for i in found["items"]] == [
        ("The Lantern Archive", True, False)
    ]
    assert found["items"][0]["lists"][0]["slug"] == "rainy-sundays"
    assert empty == {"query": "", "items": []} and long["items"] == []
    assert len(long["query"]) == 500


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/watchlist", {"limit": "251"}, "limit"),
        ("/api/watchlist", {"page": "0"}, "page"),
        ("/api/lists/rainy-sundays", {"limit": "x"}, "limit"),
        ("/api/search", {"q": "a", "limit": "51"}, "limit"),
        ("/api/history", {"cursor": "nope"}, "cursor"),
        ("/api/history", {"cursor": "1_1", "page": "2"}, "page"),
        ("/api/history", {"month": "2025-1"}, "month"),
        ("/api/history", {"day": "2025-02-30"}, "day"),
        ("/api/history", {"weekday": "0"}, "weekday"),
        ("/api/history", {"rating": "11"}, "rating"),
        ("/api/history", {"show": "a/b"}, "show"),
        ("/api/history", {"year": "1899"}, "year"),
    ],
)
def test_bad_parameters_are_a_400_that_names_them(client, library, path, params, named):
    template = "/api/lists/{slug}" if path.startswith("/api/lists/") else path
    response = get(client, path, template, **params)

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{named} ")


def test_history_takes_the_diarys_filters_and_a_cursor(client, library):
    first = get(client, "/api/history", limit=1, genre="drama").json()
    second = get(client, "/api/history", limit=1, genre="drama", cursor=first["next_cursor"]).json()
    episodes = get(client, "/api/history", show="saltmarsh", weekday=7).json()

    assert [i["id"] for i in first["items"]] == [2] and first["total"] == 2
    assert [i["id"] for i in second["items"]] == [1] and second["page"] == 2
    assert second["next_cursor"] is None
    assert [i["id"] for i in episodes["items"]] == [14]  # 2 February 2025 was a Sunday
    all_plays = get(client, "/api/history", limit=2).json()
    deeper = get(client, "/api/history", limit=2, cursor=all_plays["next_cursor"]).json()
    assert (all_plays["page"], deeper["page"]) == (1, 2)
    assert [i["id"] for i in deeper["items"]] == [
        i["id"] for i in get(client, "/api/history", limit=2, page=2).json()["items"]
    ]


def test_the_tester_fills_each_path_with_something_the_mirror_holds(client, library):
    html = client.get("/api-test?endpoint=show").content.decode()
    endpoints = {e["name"]: e for e in api_endpoints({"show.slug": "saltmarsh"})}

    assert endpoints["show"]["url"] == "/api/titles/shows/saltmarsh"
    assert 'id="p-show-slug" name="slug" data-in="path"' in html and 'value="saltmarsh"' in html
    assert 'data-path="/api/titles/movies/super-8-2011"' in html


def test_titles_only_listed_or_watchlisted_get_posters_too(library):
    wanted = Title.objects.get(slug="the-lantern-archive-2026")

    assert wanted in titles_wanting_posters(timezone.now())


# --- Privacy: the demo's private list -----------------------------------------------------------

SECRET = ("Guilty Pleasures Nobody Sees", "Never tell anyone about these")


@pytest.mark.django_db(transaction=True)  # committed: the database file is scanned too
def test_a_private_list_is_nowhere(client, settings):
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = ""
    sync.sync()
    assert UserList.objects.count() == 3

    paths = [e["url"] for e in api_endpoints()] + [
        "/", "/history", "/watchlist", "/lists", "/search?q=guilty", "/api/search?q=guilty",
        "/lists/guilty-pleasures-nobody-sees", "/api/lists/guilty-pleasures-nobody-sees",
        "/search?q=pleasures", "/api-test",
    ]  # fmt: skip
    for slug in UserList.objects.values_list("slug", flat=True):
        paths += [f"/lists/{slug}", f"/api/lists/{slug}"]
    for title in Title.objects.all()[:40]:
        kind = "movies" if title.kind == "movie" else "shows"
        paths += [f"/{kind}/{title.slug}", f"/api/titles/{kind}/{title.slug}"]
    for path in paths:
        text = body(client.get(path))  # the exports' streams read whole too
        for secret in SECRET:
            assert secret not in text, path
    for model in (UserList, ListItem, WatchlistItem, Comment, Title):
        rows = repr(list(model.objects.values()))
        assert not any(secret in rows for secret in SECRET), model.__name__
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        for path in (name, Path(f"{name}-wal")):
            if path.exists():
                data = path.read_bytes()
                assert not any(secret.encode() in data for secret in SECRET), path.name
