"""The profile page's history sections and /year/<yyyy>, as the server renders them."""

import re
from html import unescape

import pytest
from django.db import DatabaseError

from profile.mirror import state as mirror_state
from profile.pages import figures
from tests import mirror

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(reset_fake):
    reset_fake.set(watching="idle")
    return reset_fake


@pytest.fixture
def watched(settings):
    """A small history: a film twice, a show's three episodes in a row, a rating."""
    settings.TIME_ZONE = "Europe/Lisbon"
    film = mirror.title(
        "Super 8", runtime=112, genres=("drama",), rating=7.1, votes=900, year=2011,
        tmdb_id=37686, poster_path="/poster8.jpg",
    )  # fmt: skip
    series = mirror.show("Breaking Bad", runtime=47, genres=("crime", "drama"), year=2008)
    mirror.play(film, "2024-05-01T21:00:00Z")
    mirror.play(film, "2024-12-01T21:00:00Z")
    for n, at in enumerate(("20:00", "20:47", "21:34"), start=1):  # back to back
        mirror.play(mirror.episode(series, 1, n), f"2025-01-01T{at}:00Z")
    mirror.rate(film, 10)
    return film, series


def section(html: str, ident: str) -> str:
    match = re.search(rf'<section[^>]* id="{ident}".*?</section>', html, re.S)
    assert match, f"no section #{ident}"
    return match[0]


def test_an_empty_mirror_says_the_history_is_being_fetched(client, fake):
    html = client.get("/").content.decode()

    recent = section(html, "recent")
    assert "The watch history is being fetched from Trakt" in recent
    assert 'id="activity"' not in html
    # Trakt's last history entry still shows as the last-watched line.
    assert "Last watched: <strong>Breaking Bad S0E2 - Wedding Day</strong>" in html


def test_without_a_background_sync_it_says_how_to_fetch_the_history(client, fake, settings):
    settings.HISTORY_SYNC_MINUTES = 0

    html = client.get("/").content.decode()

    assert "it appears here once `manage.py sync_trakt` has run" in unescape(html)


def test_recently_watched_shows_posters_newest_first(client, fake, watched):
    html = client.get("/").content.decode()

    recent = section(html, "recent")
    titles = re.findall(r'<span class="poster-title">([^<]*)</span>', recent)
    assert titles == ["Breaking Bad", "Super 8"]
    assert "S1E3 - Episode 3" in recent
    assert re.search(
        r'<img class="poster" src="[^"]+/w342/poster8\.jpg" srcset="[^"]+/w154/poster8\.jpg 154w, '
        r'[^"]+/w342/poster8\.jpg 342w" sizes="[^"]+" width="154" height="231" loading="lazy"',
        recent,
    )
    # A title without a known poster gets a coloured stand-in with its initials.
    assert '<span class="poster poster--none hue-' in recent and ">BB</span>" in recent
    assert " ago</time>" in recent
    # The mirror answers what was last watched: no separate line.
    assert "Last watched:" not in html


def test_the_activity_heatmap_has_a_cell_a_day_a_legend_and_streaks(client, fake, watched):
    html = client.get("/").content.decode()

    activity = section(html, "activity")
    svg = re.search(r"<svg class=\"chart-svg chart-svg--heatmap\".*?</svg>", activity, re.S)[0]
    # Its squares are links into the diary: a group of them, not an image (which hides them).
    assert 'role="group"' in svg
    squares = svg.count('<use href="#heat-day" class="heat-')
    assert 365 <= squares <= 371  # a square a day
    assert (
        len(
            re.findall(r'<a class="chart-part" href="/history\?day=\d{4}-\d{2}-\d{2}"><title>', svg)
        )
        == squares
    )
    assert re.search(r'aria-label="Plays per day from \d+ \w+ \d{4} to \d+ \w+ \d{4}: ', svg)
    assert activity.count('<span class="swatch heat-') == 5
    assert "<dt>Longest streak</dt>" in activity
    assert "<summary>The numbers</summary>" in activity  # the table alternative


def test_the_history_sections_are_kept_in_the_processs_memory_until_the_mirror_changes(
    client, fake, watched, monkeypatch
):
    from django.core.cache import caches

    first = client.get("/").content.decode()
    shared = caches["default"]
    asked = []
    read = shared.get
    monkeypatch.setattr(
        shared, "get", lambda key, *a, **kw: asked.append(key) or read(key, *a, **kw)
    )

    again = client.get("/").content.decode()
    warm_reads = list(asked)
    film, _ = watched
    mirror.play(film, "2025-02-01T21:00:00Z")  # a sync moves the mirror's version on
    changed = client.get("/").content.decode()

    assert section(again, "recent") == section(first, "recent")
    # Neither the rendered sections nor the figures under them came from the shared cache.
    assert not [key for key in warm_reads if "history-sections" in key or mirror_state.KEY in key]
    titles = re.findall(r'<span class="poster-title">([^<]*)</span>', section(changed, "recent"))
    assert titles == ["Super 8", "Breaking Bad"]


def test_when_draws_hours_and_weekdays_in_the_owners_time(client, fake, watched):
    html = client.get("/").content.decode()

    when = unescape(section(html, "when"))
    # Lisbon is on UTC in winter and an hour ahead in summer (the film in May).
    assert "Plays by hour of the day: 00 0," in when
    assert "20 2, 21 2, 22 1, 23 0" in when
    assert "Europe/Lisbon" in when


def test_taste_ranks_genres_shows_movies_and_compares_ratings(client, fake, watched):
    html = client.get("/").content.decode()

    taste = unescape(section(html, "taste"))
    genres = re.findall(r'<span class="ranked-name">(?:<a [^>]*>)?([^<]*)', taste)
    assert genres[:2] == ["Drama", "Crime"]
    assert "3 plays" in taste and "2 plays" in taste
    assert "Ratings given" in taste  # Trakt's distribution (the stats fixture)
    assert "Of 1 rating with a community score, 1 is a point or more above it" in taste
    # Told to a visitor: the owner by name, never "you".
    assert "Sean 10 · community 7.1" in taste
    assert "Where Sean and the community disagree most" in taste
    assert not re.search(r"\b[Yy]our?\b", taste)


def test_every_year_with_plays_is_linked(client, fake, watched):
    html = client.get("/").content.decode()

    years = section(html, "years")
    assert re.findall(r'href="/year/(\d{4})"', years) == ["2025", "2024"]


def test_the_page_has_no_inline_style_or_script(client, fake, watched):
    html = client.get("/").content.decode()

    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert "{#" not in html and "{%" not in html  # no template syntax left as text


def test_markup_in_titles_is_text_everywhere(client, fake):
    evil = mirror.title('<img src=x onerror="alert(1)">', genres=("drama",))
    mirror.play(evil, "2024-05-01T21:00:00Z")
    mirror.play(evil, "2024-05-02T21:00:00Z")

    html = client.get("/").content.decode() + client.get("/year/2024").content.decode()

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_an_unreadable_database_still_gives_the_page(client, fake, monkeypatch):
    def broken():
        raise DatabaseError("no such table: profile_syncstate")

    monkeypatch.setattr(figures, "mirror", broken)

    response = client.get("/")

    assert response.status_code == 200
    assert "The watch history is unavailable right now." in response.content.decode()


# --- /year/<yyyy> ---------------------------------------------------------------------------------


def test_the_year_in_review_shows_the_years_figures(client, fake, watched):
    client.get("/")  # keeps the profile, for the heading

    html = unescape(client.get("/year/2025").content.decode())

    assert "<title>2025 in review · Sean Rudford</title>" in html
    assert '<h1 class="year-title">2025</h1>' in html
    assert "<dt>Episode plays</dt><dd>3</dd>" in html
    assert "Time watched per month: Jan 2 h 21 min, Feb 0 min" in html
    assert "3 episodes in a row" in html  # the longest binge
    assert "First of the year" in html and "Last of the year" in html
    assert 'href="/year/2024" rel="prev"' in html


def test_a_year_without_plays_is_a_404_that_names_the_years_with_plays(client, fake, watched):
    response = client.get("/year/1999")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Nothing watched in 1999" in html
    assert re.findall(r'href="/year/(\d{4})"', html) == ["2025", "2024"]


@pytest.mark.parametrize("path", ["/year/0", "/year/99999999999999", "/year/2024x", "/year/-1"])
def test_odd_years_are_not_found(client, fake, watched, path):
    assert client.get(path).status_code == 404


def test_an_unreadable_database_gives_the_year_a_quiet_503(client, fake, monkeypatch):
    def broken():
        raise DatabaseError("database is locked")

    monkeypatch.setattr(figures, "mirror", broken)

    response = client.get("/year/2024")

    assert response.status_code == 503
    assert "The watch history is unavailable right now" in response.content.decode()


def test_with_the_database_unreadable_the_cached_sections_still_follow_what_else_they_draw():
    # The overview among them draws Trakt's stats and says why Trakt cannot be asked.
    unreadable = figures.HomeHistory(None)

    assert unreadable.cache_key("stats A", "") != unreadable.cache_key("stats B", "")
    assert unreadable.cache_key("stats A", "") != unreadable.cache_key("stats A", "Trakt is down")


# --- The history's sections, live ---------------------------------------------------------------


def shown_key(html: str) -> str:
    return re.search(r'data-fragment="history" data-history-key="([0-9a-f]+)"', html)[1]


def test_live_brings_the_history_when_the_mirror_has_another_than_the_page_shows(client, fake):
    page = client.get("/").content.decode()
    key = shown_key(page)
    assert 'id="activity"' not in page  # a first run: nothing mirrored yet

    unchanged = client.get("/live", {"history": key}).json()["fragments"]
    mirror.play(mirror.title("Super 8", genres=("drama",)), "2024-05-01T21:00:00Z")
    arrived = client.get("/live", {"history": key}).json()["fragments"]

    assert "history" not in unchanged
    assert 'id="activity"' in arrived["history"] and 'id="years"' in arrived["history"]
    new_key = shown_key(arrived["history"])
    assert new_key != key
    assert "history" not in client.get("/live", {"history": new_key}).json()["fragments"]
    # The page itself, loaded now, shows the same version.
    assert shown_key(client.get("/").content.decode()) == new_key


def test_live_without_the_pages_key_sends_no_history(client, fake, watched):
    assert "history" not in client.get("/live").json()["fragments"]


def test_any_key_a_visitor_sends_is_only_compared(client, fake, watched):
    from django.core.cache import caches

    for junk in ("x" * 5000, "", "../../etc", "<script>"):
        answer = client.get("/live", {"history": junk})
        assert answer.status_code == 200
        assert 'id="activity"' in answer.json()["fragments"]["history"]
    kept = [key for key in caches["local"]._cache if "live-history" in key]
    assert len(kept) == 1  # one version of the mirror, one fragment kept
