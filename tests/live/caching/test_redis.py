"""Everything the site keeps survives a trip through Redis (Django pickles cache values)."""

from datetime import timedelta

import pytest
import responses
import time_machine
from django.core.cache import caches

from profile.live import answers as live_answers
from profile.live import cache as reuse
from tests.api.test_watching import MOVIE_HALFWAY
from tests.upstream import TRAKT, WATCHING_URL, add_tmdb, at, fixture


def trakt_calls(mock) -> int:
    return sum(1 for call in mock.calls if call.request.url.startswith(TRAKT))


@pytest.mark.parametrize("name", ["trakt_watching_movie.json", "trakt_watching_episode.json"])
def test_the_watching_answer_and_its_artwork_come_back_from_redis(
    redis_cache, mock, settings, name
):
    mock.get(WATCHING_URL, json=fixture(name))
    add_tmdb(mock)

    first = live_answers.get_watching()
    caches["local"].clear()  # this process's copy; the next answer comes from Redis
    again = live_answers.get_watching()

    assert again.watching == first.watching and again.watching is not None
    assert trakt_calls(mock) == 1
    assert any(key.startswith(reuse.KEY + "tmdb:") for key in _keys(redis_cache))


@pytest.mark.parametrize(
    ("get", "path", "body"),
    [
        (live_answers.get_profile, "/users/sean", fixture("trakt_user_profile_extended_full.json")),
        (live_answers.get_stats, "/users/sean/stats", fixture("trakt_user_stats.json")),
        (
            live_answers.get_last_watched,
            "/users/sean/history",
            [fixture("trakt_watching_movie.json") | {"watched_at": "2014-10-23T05:00:00Z"}],
        ),
    ],
    ids=["profile", "stats", "last-watched"],
)
def test_profile_stats_and_history_come_back_from_redis(redis_cache, mock, get, path, body):
    mock.get(f"{TRAKT}{path}", json=body)

    first = get()
    caches["local"].clear()
    again = get()

    assert again == first
    assert trakt_calls(mock) == 1


def test_an_upstream_error_shared_through_redis_keeps_its_code_and_retry_after(redis_cache, mock):
    mock.get(WATCHING_URL, status=429, headers={"Retry-After": "30"})

    live_answers.get_watching()
    shared = redis_cache.get(reuse.KEY + "watching:error")

    assert (shared.code, shared.retry_after, shared.http_status) == ("rate_limited", 30, 503)
    assert redis_cache.get("nowwatching:v1:trakt:blocked-until") is not None


def _keys(cache):
    client = cache.client.get_client()
    return [key.decode().split(":", 2)[2] for key in client.keys("*")]


def test_a_process_uses_its_own_copy_only_while_fresh_then_the_shared_answer(redis_cache, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    key = reuse.KEY + "watching"
    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        live_answers.get_watching()
        own_copy = caches["local"].get(key)

    # Another process refreshes the shared answer after the window; Trakt has a new title.
    changed = fixture("trakt_watching_movie.json")
    changed["movie"]["title"] = "Super 9"
    mock.replace(responses.GET, WATCHING_URL, json=changed)
    with at(MOVIE_HALFWAY + timedelta(seconds=16)):
        caches["local"].clear()
        live_answers.get_watching()  # served the kept answer, refreshed in the background

    with time_machine.travel(MOVIE_HALFWAY + timedelta(seconds=17), tick=False):
        caches["local"].set(key, own_copy)  # this process still holds the first answer
        answer = live_answers.get_watching()
        kept_now = caches["local"].get(key)

    assert own_copy.value.title == "Super 8"
    assert answer.watching.title == "Super 9"
    assert trakt_calls(mock) == 2
    assert kept_now.value.title == "Super 9"
