"""How long each cache keeps its answer: watching, TMDB, profile, stats, last watched.

The clock is moved with time-machine (the in-process cache ages with it), never slept.
"""

from datetime import timedelta

import pytest
import responses

from profile.live import answers as live_answers
from tests.api.test_watching import EPISODE_HALFWAY, MOVIE_HALFWAY
from tests.upstream import TMDB, TRAKT, WATCHING_URL, add_tmdb, at, fixture, watching


def calls_to(mock, prefix: str) -> int:
    return sum(1 for call in mock.calls if call.request.url.startswith(prefix))


def watching_at(client, moment):
    with at(moment):
        return client.get("/api/watching")


@pytest.mark.parametrize("seconds", [15, 60])
def test_the_watching_answer_is_reused_for_the_window_then_asked_again(
    client, mock, settings, seconds
):
    settings.WATCHING_CACHE_SECONDS = seconds
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    watching_at(client, MOVIE_HALFWAY)
    watching_at(client, MOVIE_HALFWAY + timedelta(seconds=seconds - 0.5))
    assert calls_to(mock, WATCHING_URL) == 1

    watching_at(client, MOVIE_HALFWAY + timedelta(seconds=seconds + 0.5))
    assert calls_to(mock, WATCHING_URL) == 2


def test_a_reuse_window_of_0_asks_trakt_for_every_answer(client, mock, settings):
    settings.WATCHING_CACHE_SECONDS = 0
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    for _ in range(3):
        assert watching_at(client, MOVIE_HALFWAY).status_code == 200

    assert calls_to(mock, WATCHING_URL) == 3
    assert calls_to(mock, TMDB) == 1  # TMDB artwork is still kept for a day


def test_not_watching_is_reused_for_the_window_too(client, mock):
    mock.get(WATCHING_URL, status=204)

    watching_at(client, MOVIE_HALFWAY)
    watching_at(client, MOVIE_HALFWAY + timedelta(seconds=14))
    watching_at(client, MOVIE_HALFWAY + timedelta(seconds=16))

    assert calls_to(mock, WATCHING_URL) == 2


def test_tmdb_images_are_kept_for_24_hours(client, mock, settings):
    # Long enough a movie that it still plays a day later.
    mock.get(
        WATCHING_URL,
        json=watching(started_at="2014-10-23T06:44:02.000Z", expires_at="2014-10-26T06:44:02.000Z"),
    )
    add_tmdb(mock)

    watching_at(client, MOVIE_HALFWAY)
    watching_at(client, MOVIE_HALFWAY + timedelta(hours=23, minutes=59))
    assert calls_to(mock, WATCHING_URL) == 2
    assert calls_to(mock, f"{TMDB}/movie/37686/images") == 1

    watching_at(client, MOVIE_HALFWAY + timedelta(hours=24, seconds=1))
    assert calls_to(mock, f"{TMDB}/movie/37686/images") == 2


def test_tmdb_images_are_kept_per_kind_id_season_and_episode(client, mock):
    episode = fixture("trakt_watching_episode.json")
    next_episode = {**episode, "episode": {**episode["episode"], "number": 3}}
    add_tmdb(mock)

    mock.get(WATCHING_URL, json=episode)
    watching_at(client, EPISODE_HALFWAY)
    mock.replace(responses.GET, WATCHING_URL, json=next_episode)
    watching_at(client, EPISODE_HALFWAY + timedelta(seconds=16))
    mock.replace(responses.GET, WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    watching_at(client, EPISODE_HALFWAY + timedelta(seconds=32))

    tmdb_paths = [c.request.url.split("?")[0] for c in mock.calls if c.request.url.startswith(TMDB)]
    assert tmdb_paths == [
        f"{TMDB}/tv/1396/images",
        f"{TMDB}/tv/1396/season/0/episode/2/images",
        # The show's images are kept; only the new episode's stills are asked for.
        f"{TMDB}/tv/1396/season/0/episode/3/images",
        f"{TMDB}/movie/37686/images",
    ]


@pytest.mark.parametrize(
    ("get", "path", "body", "minutes"),
    [
        (live_answers.get_profile, "/users/sean", "trakt_user_profile_extended_full.json", 15),
        (live_answers.get_stats, "/users/sean/stats", "trakt_user_stats.json", 15),
        (live_answers.get_last_watched, "/users/sean/history", None, 5),
    ],
    ids=["profile", "stats", "last-watched"],
)
def test_profile_stats_and_last_watched_are_kept_for_their_time(mock, get, path, body, minutes):
    history = [fixture("trakt_watching_episode.json") | {"watched_at": "2014-10-23T05:00:00Z"}]
    mock.get(f"{TRAKT}{path}", json=fixture(body) if body else history)
    window = timedelta(minutes=minutes)

    with at(MOVIE_HALFWAY):
        first = get()
    with at(MOVIE_HALFWAY + window - timedelta(seconds=1)):
        again = get()
    assert calls_to(mock, f"{TRAKT}{path}") == 1
    assert again.value == first.value and again.stored_at == first.stored_at

    # After the window the kept answer is served at once (not stale: Trakt is not failing)
    # while it is refreshed in the background; the next caller gets the new one.
    with at(MOVIE_HALFWAY + window + timedelta(seconds=1)):
        served = get()
    with at(MOVIE_HALFWAY + window + timedelta(seconds=1)):
        later = get()
    assert calls_to(mock, f"{TRAKT}{path}") == 2
    assert served.stored_at == first.stored_at and not served.stale
    assert later.stored_at > first.stored_at and not later.stale
