"""/api/watching renders its body once per second per process, and the kept body is always
the one a fresh render would give: never another second's, another answer's, nor a body
without the stale or demo marks that this answer has."""

import copy
import dataclasses
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache, caches

from profile.api import views as api_views
from profile.live import answers as live_answers
from profile.live.cache import KEY, Cached
from tests.api.test_watching import MOVIE_HALFWAY
from tests.upstream import WATCHING_URL, add_tmdb, at, fixture, watching


def get(client, moment, method="get", **headers):
    with at(moment):
        return getattr(client, method)("/api/watching", headers=headers)


def rendered_afresh(client, moment, monkeypatch, method="get"):
    """The answer at `moment` with no kept body: what the kept one must equal."""
    monkeypatch.setattr(api_views, "_rendered_watching", None)
    return get(client, moment, method)


def kept() -> Cached:
    with time_machine.travel(MOVIE_HALFWAY, tick=False):  # when the tests stored it
        return caches["local"].get(KEY + "watching")


def keep(entry: Cached) -> None:
    """`entry` as the answer kept in this process and in the shared cache."""
    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        caches["local"].set(KEY + "watching", entry)
        cache.set(KEY + "watching", entry)


@pytest.fixture
def playing(mock):
    """The sample movie, whose times have milliseconds: a second of its countdown does not
    start on a second of the clock."""
    mock.get(
        WATCHING_URL,
        json=watching(started_at="2014-10-23T06:44:02.250Z", expires_at="2014-10-23T08:36:02.750Z"),
    )
    add_tmdb(mock)
    return mock


@pytest.mark.parametrize(
    "offset", [0, 0.2, 0.75, 0.76, 0.999, 1, 1.5, 1.76, 2.74, 2.75, 59.9, 3600]
)
def test_the_kept_body_is_the_one_a_fresh_render_gives(client, playing, monkeypatch, offset):
    # Each answer is first rendered at the moment before it, then asked for at `offset`.
    get(client, MOVIE_HALFWAY + timedelta(seconds=offset - 0.01))
    moment = MOVIE_HALFWAY + timedelta(seconds=offset)

    kept = get(client, moment)
    fresh = rendered_afresh(client, moment, monkeypatch)

    assert kept.status_code == fresh.status_code == 200
    assert kept.content == fresh.content
    assert kept["ETag"] == fresh["ETag"]


def test_the_countdown_moves_exactly_when_its_second_turns(client, playing):
    # 08:36:02.750 ends it: remaining_seconds changes at every .750, not at the clock's .000.
    before = get(client, MOVIE_HALFWAY + timedelta(seconds=0.74))
    after = get(client, MOVIE_HALFWAY + timedelta(seconds=0.76))

    assert before.json()["content"]["progress"]["remaining_seconds"] == 56 * 60 + 1
    assert after.json()["content"]["progress"]["remaining_seconds"] == 56 * 60
    assert before["ETag"] != after["ETag"]


def test_a_new_answer_in_the_same_second_gets_its_own_body(client, playing):
    first = get(client, MOVIE_HALFWAY)
    entry = kept()
    keep(Cached(dataclasses.replace(entry.value, title="Something Else"), entry.stored_at))

    second = get(client, MOVIE_HALFWAY)

    assert first.json()["content"]["title"] == "Super 8"
    assert second.json()["content"]["title"] == "Something Else"
    assert second["ETag"] != first["ETag"]


def test_an_equal_copy_of_the_answer_reuses_the_body(client, playing, monkeypatch):
    first = get(client, MOVIE_HALFWAY)
    keep(copy.deepcopy(kept()))
    rendered = api_views._rendered_watching

    again = get(client, MOVIE_HALFWAY)

    assert api_views._rendered_watching is rendered  # not rendered again
    assert again.content == first.content and again["ETag"] == first["ETag"]


def test_nothing_playing_after_something_is_never_served_the_old_body(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    playing = get(client, MOVIE_HALFWAY)
    keep(Cached(None, kept().stored_at))

    after = get(client, MOVIE_HALFWAY)

    assert playing.json()["isWatching"] is True
    assert after.json() == {"isWatching": False}


@pytest.mark.parametrize("stale_first", [False, True])
def test_a_stale_answer_and_a_fresh_one_never_share_a_body(
    client, playing, monkeypatch, stale_first
):
    value = None

    def answer(stale):
        def get_watching():
            return live_answers.WatchingAnswer(value, stale=stale, age=40 if stale else 0)

        return get_watching

    get(client, MOVIE_HALFWAY)
    value = kept().value
    monkeypatch.setattr(api_views, "get_watching", answer(stale_first))
    first = get(client, MOVIE_HALFWAY)
    monkeypatch.setattr(api_views, "get_watching", answer(not stale_first))
    second = get(client, MOVIE_HALFWAY)

    stale, fresh = (first, second) if stale_first else (second, first)
    assert stale.json()["stale"] is True and stale["Age"] == "40"
    assert "stale" not in fresh.json() and not fresh.has_header("Age")
    assert stale.json()["content"] == fresh.json()["content"]
    assert stale["ETag"] != fresh["ETag"]


def test_the_demo_label_is_part_of_the_kept_body(client, playing, settings):
    plain = get(client, MOVIE_HALFWAY)
    settings.DEMO_MODE = True  # the same kept answer, now labelled (a test's override)

    labelled = get(client, MOVIE_HALFWAY)

    assert "demo" not in plain.json()
    assert labelled.json()["demo"] is True


def test_head_carries_the_etag_of_its_own_second(client, playing, monkeypatch):
    get(client, MOVIE_HALFWAY)
    later = MOVIE_HALFWAY + timedelta(seconds=1)

    head = get(client, later, "head")
    fresh = rendered_afresh(client, later, monkeypatch)

    assert head.status_code == 200 and head.content == b""
    assert head["ETag"] == fresh["ETag"]
    assert get(client, later, "head", if_none_match=fresh["ETag"]).status_code == 304


def test_last_seconds_etag_gets_the_new_body_not_a_304(client, playing):
    etag = get(client, MOVIE_HALFWAY)["ETag"]

    same_second = get(client, MOVIE_HALFWAY + timedelta(seconds=0.3), if_none_match=etag)
    next_second = get(client, MOVIE_HALFWAY + timedelta(seconds=1), if_none_match=etag)

    assert same_second.status_code == 304 and same_second["ETag"] == etag
    assert next_second.status_code == 200 and next_second["ETag"] != etag
    assert next_second.json()["content"]["progress"]["remaining_seconds"] == 56 * 60


def test_an_error_answer_is_never_kept(client, mock, monkeypatch):
    mock.get(WATCHING_URL, status=500)
    monkeypatch.setattr(api_views, "_rendered_watching", None)

    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        first = client.get("/api/watching")
        second = client.get("/api/watching")

    assert first.status_code == second.status_code == 502
    assert first.content == second.content and first["Cache-Control"] == "no-cache"
    assert api_views._rendered_watching is None
