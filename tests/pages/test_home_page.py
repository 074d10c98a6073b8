"""The home page as the server renders it, against the loopback fake Trakt and TMDB."""

import re
import time
from html import unescape

import pytest

from profile.live import answers as live_answers
from profile.live.page import wait_for_page_parts


def meta(html: str, name: str) -> str | None:
    match = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', html)
    return unescape(match[1]) if match else None


def test_it_shows_the_profile_and_grouped_stats(client, fake):
    html = client.get("/").content.decode()

    assert "Sean Rudford" in html
    assert '<a href="https://trakt.tv/users/sean"' in html
    assert "Joined September 2010" in html
    assert '<span class="badge">VIP</span>' in html
    # The stats fixture: 114 movies / 15,650 minutes; 534 episodes / 17,330 minutes.
    assert '<dt>Total time</dt><dd>22 d 21 h</dd><dd class="tile-sub">707 plays</dd>' in html
    assert '<dt>Movies watched</dt><dd>114</dd><dd class="tile-sub">10 d 20 h</dd>' in html
    assert "4 followers · 11 following" in html


def test_a_movie_is_rendered_into_the_banner(client, fake):
    html = client.get("/").content.decode()

    assert 'data-slot="title">Super 8<' in html
    assert 'data-slot="label">Now Watching<' in html
    assert 'aria-valuenow="33"' in html and "pct-33" in html
    assert 'data-slot="left">1 h 15 min left<' in html
    assert f'srcset="{fake.url}/img/w300/' in html
    assert 'href="https://www.imdb.com/title/tt1650062/"' in html


def test_an_episode_links_to_the_episode_not_the_show(client, fake):
    fake.set(watching="episode", runtime_minutes=45)

    html = client.get("/").content.decode()

    assert 'data-slot="subtitle">S0E2 - Wedding Day<' in html
    assert 'href="https://trakt.tv/shows/breaking-bad/seasons/0/episodes/2"' in html
    assert 'href="https://www.themoviedb.org/tv/1396/season/0/episode/2"' in html
    # The episode has no IMDb id of its own: no IMDb link rather than the show's.
    assert re.search(r'<a data-link="imdb"[^>]* hidden>', html)


def test_markup_in_a_title_is_escaped(client, fake):
    fake.set(watching="markup")

    html = client.get("/").content.decode()

    assert "<script>window.__pwned" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_open_graph_tags_describe_what_plays(client, fake):
    html = client.get("/").content.decode()

    assert meta(html, "og:title") == "Now watching: Super 8"
    assert meta(html, "og:image") == f"{fake.url}/img/w1280/hZkgoQYus5vegHoetLkCJzb17zJ.jpg"
    assert meta(html, "og:url") == "http://testserver/"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert "Sean Rudford is watching Super 8" in meta(html, "og:description")


def test_open_graph_tags_describe_the_person_when_nothing_plays(client, fake):
    fake.set(watching="idle")

    html = client.get("/").content.decode()

    assert meta(html, "og:title") == "Sean Rudford"
    assert meta(html, "og:description") == "I have all your cassette tapes."
    # The avatar, from the site's own address (its host may be anywhere: Trakt's, Gravatar).
    assert meta(html, "og:image").startswith("http://testserver/avatar?v=")
    assert meta(html, "twitter:card") == "summary_large_image"


def test_demo_images_become_absolute_urls_in_open_graph(client, settings):
    settings.DEMO_MODE = True

    html = client.get("/").content.decode()

    assert meta(html, "og:image").startswith("http://testserver/static/demo/")
    assert "Demo data" in html


def test_idle_shows_the_last_watched_line(client, fake):
    fake.set(watching="idle")

    html = client.get("/").content.decode()

    assert "data-banner " not in html
    assert re.search(r'<p class="last-watched" [^>]*data-last-watched>Last watched:', html)
    assert "<strong>Breaking Bad S0E2 - Wedding Day</strong> · <time" in html
    assert "3\xa0hours ago" in html


def test_trakt_down_still_gives_a_page_with_quiet_notes(client, fake):
    fake.set(trakt_fault="500")

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Totals unavailable right now" in html
    assert "The profile is unavailable right now" in html
    assert "<h1" in html and "sean" in html


def test_trakt_down_shows_the_last_good_stats(client, fake, monkeypatch):
    client.get("/")
    # Nothing is fresh any more, so the next page asks Trakt, which now fails.
    monkeypatch.setattr(live_answers, "PROFILE_SECONDS", 0)
    monkeypatch.setattr(live_answers, "STATS_SECONDS", 0)
    fake.set(trakt_fault="500")

    html = client.get("/").content.decode()

    assert "Sean Rudford" in html
    assert "<dt>Total time</dt><dd>22 d 21 h</dd>" in html
    assert "these are the last totals it gave" in html


def test_a_slow_watching_answer_does_not_hold_the_page(client, fake):
    fake.set(watching_delay=2.5)

    started = time.monotonic()
    response = client.get("/")
    took = time.monotonic() - started

    html = response.content.decode()
    assert response.status_code == 200
    assert took < 1.8
    assert "data-banner-skeleton" in html
    assert 'data-poll-seconds="2"' in html  # the script asks again soon
    assert "Sean Rudford" in html
    # The late answer's call goes on after the page, and can be waited for (the suite does,
    # after each test: it would land in the next test's cache and log with its settings).
    assert not wait_for_page_parts(timeout=0)
    assert wait_for_page_parts(timeout=30)


def notes(html: str) -> list[str]:
    return [unescape(note) for note in re.findall(r'<p class="note">(.*?)</p>', html, re.S)]


def test_a_site_not_set_up_says_so_not_that_trakt_is_down(client, fake, settings):
    # A key and the app's secret, waiting for `manage.py trakt_login`: nobody to show yet.
    settings.TRAKT_USERNAME = ""
    settings.TRAKT_CLIENT_SECRET = "app-secret"

    html = client.get("/").content.decode()

    assert notes(html), html
    for note in notes(html):
        assert "not set up" in note
        assert "did not answer" not in note
    assert "TRAKT_USERNAME" in html  # what its owner has to set
    assert fake.calls("trakt:") == 0


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("500", "Trakt did not answer"),
        ("invalid_json", "Trakt did not answer"),
        ("429", "rate limit"),
        ("404", "Trakt has no such user"),
        ("private", "This Trakt profile is private"),
    ],
)
def test_trakt_failing_says_how(client, fake, fault, says):
    fake.set(trakt_fault=fault)

    html = client.get("/").content.decode()

    assert notes(html)
    for note in notes(html):
        assert says in note
        assert "not set up" not in note
