"""Everything the site keeps survives a trip through Redis (Django pickles cache values)."""

from profile import services

import pytest
import responses

from tests.upstream import TRAKT, WATCHING_URL, add_tmdb, fixture


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def trakt_calls(mock) -> int:
    return sum(1 for call in mock.calls if call.request.url.startswith(TRAKT))


@pytest.mark.parametrize("name", ["trakt_watching_movie.json", "trakt_watching_episode.json"])
def test_the_watching_answer_and_its_artwork_come_back_from_redis(
    redis_cache, mock, settings, name
):
    mock.get(WATCHING_URL, json=fixture(name))
    add_tmdb(mock)

    first = services.get_watching()
    again = services.get_watching()

    assert again.watching == first.watching and again.watching is not None
    assert trakt_calls(mock) == 1
    assert any(key.startswith(services.KEY + "tmdb:") for key in _keys(redis_cache))


@pytest.mark.parametrize(
    ("get", "path", "body"),
    [
        (services.get_profile, "/users/sean", fixture("trakt_user_profile_extended_full.json")),
        (services.get_stats, "/users/sean/stats", fixture("trakt_user_stats.json")),
        (
            services.get_last_watched,
            "/users/sean/history",
            [fixture("trakt_watching_movie.json") | {"watched_at": "2014-10-23T05:00:00Z"}],
        ),
    ],
    ids=["profile", "stats", "last-watched"],
)
def test_profile_stats_and_history_come_back_from_redis(redis_cache, mock, get, path, body):
    mock.get(f"{TRAKT}{path}", json=body)

    first = get()
    again = get()

    assert again == first
    assert trakt_calls(mock) == 1


def test_an_upstream_error_shared_through_redis_keeps_its_code_and_retry_after(redis_cache, mock):
    mock.get(WATCHING_URL, status=429, headers={"Retry-After": "30"})

    services.get_watching()
    shared = redis_cache.get(services.KEY + "watching:error")

    assert (shared.code, shared.retry_after, shared.http_status) == ("rate_limited", 30, 503)
    assert redis_cache.get("nowwatching:v1:trakt:blocked-until") is not None


def _keys(cache):
    client = cache._cache.get_client()
    return [key.decode().split(":", 2)[2] for key in client.keys("*")]
