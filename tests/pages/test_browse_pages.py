"""The pages a visitor browses, as the server renders them: the diary, a page for every title,
the watchlist, the lists, search, and the profile's favourites and reviews."""

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import quote

import pytest
from django.db import DatabaseError

from profile.live.answers import get_profile
from profile.mirror import diary as mirror_diary
from profile.models import Comment, Favorite, ListItem, UserList, WatchlistItem
from tests import mirror

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


@pytest.fixture
def library(settings, reset_fake):
    return make_library(settings, reset_fake)


def make_library(settings, fake):
    """A small history and library: a film seen twice and rated, a show's episodes, a film
    never played on the watchlist and a list, a review with a spoiler. The owner is the
    fake's Sean Rudford (his profile kept, as the profile page keeps it)."""
    get_profile()
    settings.TIME_ZONE = "Europe/Lisbon"
    film = mirror.title(
        "Super 8", year=2011, genres=("drama",), rating=7.1, votes=900, slug="super-8-2011",
        imdb_id="tt1650062", tmdb_id=37686, overview="Kids, a train, a camera.",
    )  # fmt: skip
    show = mirror.show("Saltmarsh", year=2022, genres=("mystery",), slug="saltmarsh")
    wanted = mirror.title("The Lantern Archive", year=2026, slug="the-lantern-archive-2026")
    mirror.play(film, "2024-05-03T21:10:00Z", history_id=1)
    mirror.play(film, "2025-01-10T20:00:00Z", history_id=2)
    for n, at in enumerate(("19:00", "19:50"), start=1):
        mirror.play(mirror.episode(show, 1, n), f"2025-02-01T{at}:00Z", history_id=10 + n)
    mirror.play(mirror.episode(show, 1, 4), "2025-02-02T19:00:00Z", history_id=14)
    mirror.rate(film, 9)
    Favorite.objects.create(title=film, rank=1)
    WatchlistItem.objects.create(kind="movie", trakt_id=wanted.trakt_id, title=wanted, rank=1)
    WatchlistItem.objects.create(kind="season", trakt_id=77, title=show, season=2, rank=2)
    rainy = UserList.objects.create(trakt_id=5, slug="rainy-sundays", name="Rainy Sundays")
    for position, title in enumerate((wanted, film)):
        ListItem.objects.create(
            list=rainy, kind="movie", trakt_id=title.trakt_id, title=title, position=position
        )
    Comment.objects.create(
        trakt_id=1, kind="movie", title=film, review=True, user_rating=9,
        text="Warm and loud. [spoiler]The train was the alien.[/spoiler] Still great.",
        created_at=datetime(2025, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    Comment.objects.create(
        trakt_id=2, kind="show", title=show, spoiler=True, text="Mara cuts the rope.",
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    mirror.changed()
    return film, show, wanted


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- The diary ------------------------------------------------------------------------------------


def test_the_diary_lists_every_play_by_the_owners_day(client, library):
    html = page(client, "/history")

    days = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', html)
    assert days == ["2025-02-02", "2025-02-01", "2025-01-10", "2024-05-03"]
    assert "5 plays; newest first, in Sean's time." in html
    assert 'href="/movies/super-8-2011"' in html and 'href="/shows/saltmarsh"' in html
    # The 2024 play at 21:10 UTC was at 22:10 in Lisbon; the second is a rewatch, rated 9.
    assert ">22:10</time>" in html
    assert text(html).count("Sean rated it 9") == 2
    assert text(html).count("rewatch") == 1


def test_the_diary_filters_show_as_chips_that_remove_themselves(client, library):
    html = page(client, "/history?type=movie&year=2025&rating=9")

    chips = re.findall(r'<a class="chip" href="([^"]*)"><span>([^<]*)</span>', html)
    assert [label for _, label in chips] == ["Movies", "2025", "Movies and shows rated 9"]
    assert unescape(chips[0][0]) == "?year=2025&rating=9"
    assert "1 play match these filters" in html and "2 plays" not in html
    assert page(client, "/history?day=2025-02-01").count('class="diary-entry"') == 2
    assert "Saturdays" in page(client, "/history?weekday=6")
    assert "Saltmarsh" in text(page(client, "/history?show=saltmarsh"))


def test_the_diary_pages_by_keyset_both_ways(client, library, monkeypatch):
    monkeypatch.setattr(mirror_diary, "PAGE", 2)
    first = page(client, "/history")
    older = unescape(re.search(r'href="([^"]*)" rel="next"', first)[1])

    second = page(client, "/history" + older)
    newer = unescape(re.search(r'href="([^"]*)" rel="prev"', second)[1])

    assert older.startswith("?cursor=") and newer.startswith("?before=")
    assert (
        re.findall(r'class="diary-time" datetime="([^"]+)"', page(client, "/history" + newer))[:2]
        == re.findall(r'class="diary-time" datetime="([^"]+)"', first)[:2]
    )


def test_a_form_that_chose_any_filters_nothing(client, library):
    html = page(client, "/history?type=&year=&genre=&weekday=&hour=&rating=")

    assert html.count('class="diary-entry"') == 5 and 'class="chip"' not in html


@pytest.mark.parametrize(
    ("query", "named"),
    [("year=abc", "year"), ("month=2025-13", "month"), ("cursor=zzz", "cursor"),
     ("hour=24", "hour"), ("genre=%25", "genre"), ("day=0001-01-01", "day")],
)  # fmt: skip
def test_a_bad_diary_parameter_is_a_400_page_that_names_it(client, library, query, named):
    html = page(client, f"/history?{query}", 400)

    assert re.search(rf'role="alert">{named} must', html)


# --- Titles ---------------------------------------------------------------------------------------


def test_a_movies_page_says_everything_the_site_knows_of_it(client, library):
    html = page(client, "/movies/super-8-2011")
    words = text(html)

    assert '<h1 id="title-name">Super 8</h1>' in html
    assert "Sean rated it 9 · community 7.1 (900 votes)" in words
    assert "Watched 2 times" in words and "Kids, a train, a camera." in words
    assert "One of Sean's favourites" in words and "On the list Rainy Sundays" in words
    # The inline spoiler is folded away: a <details> that opens without script.
    assert re.search(
        r"<details class=\"spoiler\"><summary>Spoiler: show it</summary><p>The train", html
    )
    assert 'href="/history?movie=super-8-2011"' in html
    for site in ("https://trakt.tv/movies/super-8-2011", "https://www.imdb.com/title/tt1650062/"):
        assert re.search(
            rf'href="{re.escape(site)}" target="_blank" rel="noopener noreferrer"', html
        )


def test_a_shows_page_draws_its_seasons_and_folds_a_whole_spoiler(client, library):
    html = page(client, "/shows/saltmarsh")

    cells = re.findall(r'<li class="episode-cell ?([^"]*)" title="([^"]*)">(\d+)</li>', html)
    assert cells == [
        ("episode-cell--once", "S1E1 · Episode 1 · 1 play", "1"),
        ("episode-cell--once", "S1E2 · Episode 2 · 1 play", "2"),
        ("", "S1E3 · not watched", "3"),
        ("episode-cell--once", "S1E4 · Episode 4 · 1 play", "4"),
    ]
    # The squares are hidden from screen readers, which hear them as a sentence.
    assert '<ol class="episode-grid" aria-hidden="true">' in html
    assert "Season 1: episodes 1, 2, 4 watched; 3 not watched." in html
    # Its season 2 is on the watchlist: so is the show, as its page says.
    assert "3 of 4 watched" in html and "On the watchlist" in html
    assert re.search(r'<details class="spoiler"><summary>Spoiler: show it</summary><p>Mara', html)
    assert "Longest binge: 2 episodes in a row" in text(html)


def test_an_unknown_slug_is_a_404_that_offers_the_search(client, library):
    html = page(client, "/movies/the-lantern-archiv-2026", 404)

    assert 'value="the lantern archiv"' in html
    assert 'href="/movies/the-lantern-archive-2026"' in html  # a result, already there
    assert page(client, "/shows/super-8-2011", 404)  # a movie's slug is no show's


@pytest.mark.parametrize("slug", ["amélie-2001", "東京物語-1953"])
def test_a_slug_with_unicode_names_its_page(client, library, slug):
    mirror.play(mirror.title("Amélie / 東京", slug=slug), "2025-03-01T20:00:00Z")

    html = page(client, f"/movies/{quote(slug)}")

    assert '<h1 id="title-name">Amélie / 東京</h1>' in html
    assert f'href="/movies/{quote(slug)}"' in page(client, "/history")


def test_a_title_without_a_slug_has_a_page_by_its_trakt_id(client, library):
    nameless = mirror.title("No Slug", slug="", trakt_id=424242)
    mirror.play(nameless, "2025-03-01T20:00:00Z")

    assert 'href="/movies/424242"' in page(client, "/history")
    assert "No Slug" in page(client, "/movies/424242")


@pytest.mark.parametrize("path", ["/movies/%00", "/movies/a%2Fb", "/shows/..", "/lists/%20"])
def test_an_address_that_is_no_slug_is_a_404(client, library, path):
    assert client.get(path).status_code == 404


# --- The watchlist, the lists ------------------------------------------------------------------------


def test_the_watchlist_and_the_lists_show_posters_in_order(client, library):
    watchlist = page(client, "/watchlist")
    lists = page(client, "/lists")
    rainy = page(client, "/lists/rainy-sundays")

    assert re.findall(r'class="poster-title">([^<]*)<', watchlist) == [
        "The Lantern Archive",
        "Saltmarsh",
    ]
    assert "Season 2" in watchlist and "not played yet" in watchlist
    assert '<a href="/lists/rainy-sundays">Rainy Sundays</a>' in lists and "2 titles" in lists
    assert re.findall(r'poster-number">(\d+)\.</span> ([^<]*)<', rainy) == [
        ("1", "The Lantern Archive"),
        ("2", "Super 8"),
    ]
    assert page(client, "/lists/not-a-list", 404)


def test_a_long_watchlist_and_list_are_paged_and_a_page_past_the_end_is_a_404(client, library):
    rainy = UserList.objects.get()
    for n in range(2, 130):  # 130 on each, past SHELF_PAGE twice
        wanted = mirror.title(f"Wanted {n:03}")
        WatchlistItem.objects.create(
            kind="movie", trakt_id=wanted.trakt_id, title=wanted, rank=n + 1
        )
        ListItem.objects.create(
            list=rainy, kind="movie", trakt_id=wanted.trakt_id, title=wanted, position=n
        )
    mirror.changed()
    titles = re.compile(r'class="poster-title">([^<]*)<')

    first, last = page(client, "/watchlist"), page(client, "/watchlist?page=3")
    in_list = page(client, "/lists/rainy-sundays?page=3")

    assert len(titles.findall(first)) == 60 and 'href="?page=2" rel="next"' in first
    assert titles.findall(last)[-1] == "Wanted 129" and "Page 3 of 3" in last
    assert re.findall(r'poster-number">(\d+)\.</span> ([^<]*)<', in_list)[-1] == (
        "130",
        "Wanted 129",
    )
    for path in ("/watchlist?page=4", "/lists/rainy-sundays?page=4"):
        assert "There is no page 4" in text(page(client, path, 404))


def test_empty_sections_are_left_out(client, library):
    Favorite.objects.all().delete()
    Comment.objects.all().delete()
    mirror.changed()

    html = page(client, "/")

    assert 'id="favorites"' not in html and 'id="reviews"' not in html
    WatchlistItem.objects.all().delete()
    assert "Nothing on the watchlist." in page(client, "/watchlist")


def test_the_profile_shows_favourites_and_latest_reviews(client, library):
    html = page(client, "/")

    favorites = re.search(r'<section class="home-shelf" id="favorites".*?</section>', html, re.S)[0]
    assert 'href="/movies/super-8-2011"' in favorites
    reviews = re.search(r'<section class="panel" id="reviews".*?</section>', html, re.S)[0]
    assert "Warm and loud." in reviews and "<details" in reviews


# --- Search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "%", "x" * 500, "é" * 600])
def test_search_takes_any_query_and_never_fails(client, library, query):
    html = page(client, f"/search?q={quote(query)}")

    assert 'id="search-results"' in html and 'class="search-hit"' not in html


def test_search_finds_what_the_site_keeps_and_says_where_from(client, library):
    html = page(client, "/search?q=LANTERN")

    assert 'href="/movies/the-lantern-archive-2026"' in html
    assert "on the watchlist" in html and "on “Rainy Sundays”" in html


def test_search_as_you_type_answers_the_results_part(client, library):
    response = client.get("/search/live", {"q": "super"})

    body = response.json()
    assert body["query"] == "super" and 'href="/movies/super-8-2011"' in body["html"]
    assert "no-cache" in response["Cache-Control"]


# --- Failing infrastructure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/history", "/movies/super-8-2011", "/watchlist", "/lists", "/search?q=x"]
)
def test_an_unreadable_database_is_a_503_page_not_a_500(client, library, monkeypatch, path):
    def broken(*args, **kwargs):
        raise DatabaseError("database is locked")

    for module, name in [
        ("profile.mirror.diary", "diary_page"),
        ("profile.pages.browse", "title_detail"),
        ("profile.mirror.library", "watchlist"),
        ("profile.mirror.library", "lists"),
        ("profile.pages.browse", "search"),
    ]:
        monkeypatch.setattr(f"{module}.{name}", broken)

    html = page(client, path, 503)

    assert "unavailable right now" in html


def test_a_seasons_grid_reads_as_one_sentence():
    from profile.mirror.detail import Cell, SeasonGrid
    from profile.pages.grid import summary

    plays = [1, 2, 1, 1, 1, 1, 0, 1, 0, 0]
    season = SeasonGrid(2, [Cell(n, f"E{n}", p, None) for n, p in enumerate(plays, start=1)])

    assert (
        summary(season)
        == "Season 2: episodes 1–6, 8 watched (2 more than once); 7, 9, 10 not watched."
    )
