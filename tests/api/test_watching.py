"""GET /api/watching against Trakt and TMDB answered by `responses` (official sample bodies)."""

import json
import logging
import re
from datetime import UTC, datetime

import pytest
import requests
import time_machine

from tests.conftest import SECRETS, TMDB_KEY, TRAKT_KEY, TRAKT_TOKEN
from tests.upstream import (
    TMDB,
    TRAKT,
    TRAKT_FAILURES,
    WATCHING_URL,
    add_tmdb,
    fixture,
    watching,
)

# Halfway through the sample movie (06:44:02 → 08:36:02, 112 min).
MOVIE_HALFWAY = datetime(2014, 10, 23, 7, 40, 2, tzinfo=UTC)
# Halfway through the sample episode (06:24:12 → 07:09:12, 45 min).
EPISODE_HALFWAY = datetime(2014, 10, 23, 6, 46, 42, tzinfo=UTC)


def get_watching(client, at=MOVIE_HALFWAY):
    with time_machine.travel(at, tick=False):
        return client.get("/api/watching")


def test_it_shows_a_movie(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    response = get_watching(client)

    assert response.status_code == 200
    body = response.json()
    assert body["isWatching"] is True
    content = body["content"]
    assert content["type"] == "movie"
    assert content["title"] == "Super 8"
    assert "subtitle" not in content
    assert content["year"] == 2011
    assert content["progress"] == {
        "started_at": "2014-10-23T06:44:02.000Z",
        "expires_at": "2014-10-23T08:36:02.000Z",
        "percentage": 50,
        "remaining_seconds": 56 * 60,
        "duration_seconds": 112 * 60,
    }
    assert content["ids"] == {"trakt": 2, "tmdb": 37686, "imdb": "tt1650062"}
    assert content["action"] == "checkin"
    assert content["links"] == {
        "trakt": "https://trakt.tv/movies/super-8-2011",
        "imdb": "https://www.imdb.com/title/tt1650062/",
        "tmdb": "https://www.themoviedb.org/movie/37686",
    }
    assert "episode" not in content
    assert "demo" not in body and "stale" not in body and "error" not in body


def test_it_shows_an_episode_with_the_shows_ids_and_episode_links(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_episode.json"))
    add_tmdb(mock)

    content = get_watching(client, EPISODE_HALFWAY).json()["content"]

    assert content["type"] == "episode"
    assert content["title"] == "Breaking Bad"
    assert content["subtitle"] == "S0E2 - Wedding Day"
    assert content["year"] == 2008
    assert content["progress"]["percentage"] == 50
    assert content["ids"] == {"trakt": 1, "tmdb": 1396, "imdb": "tt0903747"}
    assert content["episode"] == {
        "season": 0,
        "number": 2,
        "title": "Wedding Day",
        "ids": {"trakt": 2, "tvdb": 3859791, "imdb": None, "tmdb": 62133},
    }
    assert content["links"] == {
        "trakt": "https://trakt.tv/shows/breaking-bad/seasons/0/episodes/2",
        "imdb": None,  # the episode's own IMDb id is "" in the sample
        "tmdb": "https://www.themoviedb.org/tv/1396/season/0/episode/2",
    }
    assert (
        content["images"]["still"]
        == "https://image.tmdb.org/t/p/w300/9hGF3WUkBf7cSjMg0cdMDHJkByd.jpg"
    )


def test_episode_images_use_the_shows_tmdb_id_not_the_episodes(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_episode.json"))
    add_tmdb(mock)

    get_watching(client, EPISODE_HALFWAY)

    tmdb_paths = [call.request.url for call in mock.calls if call.request.url.startswith(TMDB)]
    assert any("/tv/1396/images" in url for url in tmdb_paths)
    assert any("/tv/1396/season/0/episode/2/images" in url for url in tmdb_paths)
    assert not any("62133" in url for url in tmdb_paths)
    assert all("include_image_language=en%2Cnull" in url for url in tmdb_paths)


def test_it_says_not_watching_on_204(client, mock):
    mock.get(WATCHING_URL, status=204)

    response = get_watching(client)

    assert response.status_code == 200
    assert response.json() == {"isWatching": False}


def test_a_checkin_counts_as_watching(client, mock):
    mock.get(WATCHING_URL, json=watching(action="checkin"))
    add_tmdb(mock)

    content = get_watching(client).json()["content"]

    assert content["action"] == "checkin"


def test_an_unknown_action_is_accepted(client, mock):
    mock.get(WATCHING_URL, json=watching(action="watching"))
    add_tmdb(mock)

    response = get_watching(client)

    assert response.status_code == 200
    assert response.json()["content"]["action"] == "watching"


@pytest.mark.parametrize("imdb", ["", None])
def test_missing_ids_become_null_and_drop_their_links_and_images(client, mock, imdb):
    body = watching()
    body["movie"]["ids"] |= {"imdb": imdb, "tmdb": None}
    mock.get(WATCHING_URL, json=body)

    content = get_watching(client).json()["content"]

    assert content["ids"] == {"trakt": 2, "tmdb": None, "imdb": None}
    assert content["links"]["imdb"] is None
    assert content["links"]["tmdb"] is None
    assert content["links"]["trakt"] == "https://trakt.tv/movies/super-8-2011"
    assert content["images"] == {}
    assert not [call for call in mock.calls if call.request.url.startswith(TMDB)]


def test_a_missing_year_is_null(client, mock):
    body = watching()
    body["movie"]["year"] = None
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    assert get_watching(client).json()["content"]["year"] is None


def test_an_episode_without_a_title_is_only_its_code(client, mock):
    body = watching("trakt_watching_episode.json")
    body["episode"]["title"] = None
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    content = get_watching(client, EPISODE_HALFWAY).json()["content"]

    assert content["subtitle"] == "S0E2"


@pytest.mark.parametrize(
    ("at", "percentage", "remaining"),
    [
        (datetime(2014, 10, 23, 6, 0, tzinfo=UTC), 0, 156 * 60 + 2),  # before the start
        (datetime(2014, 10, 23, 6, 44, 2, tzinfo=UTC), 0, 112 * 60),
        (datetime(2014, 10, 23, 8, 36, 2, tzinfo=UTC), 100, 0),
        (datetime(2014, 10, 23, 9, 30, tzinfo=UTC), 100, 0),  # past the end
    ],
)
def test_the_percentage_is_clamped_to_0_and_100(client, mock, at, percentage, remaining):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    progress = get_watching(client, at).json()["content"]["progress"]

    assert progress["percentage"] == percentage
    assert progress["remaining_seconds"] == remaining


def test_the_percentage_is_computed_when_answering_not_when_fetching(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    first = get_watching(client, MOVIE_HALFWAY).json()
    later = get_watching(client, MOVIE_HALFWAY.replace(second=14)).json()  # cached answer

    assert len([c for c in mock.calls if c.request.url == WATCHING_URL]) == 1
    assert first["content"]["progress"]["remaining_seconds"] == 56 * 60
    assert later["content"]["progress"]["remaining_seconds"] == 56 * 60 - 12


# --- The backdrop choice ------------------------------------------------------------------


def image(path, language=None, votes=5.0, width=1920):
    return {
        "file_path": path,
        "iso_639_1": language,
        "vote_average": votes,
        "width": width,
        "height": width * 9 // 16,
        "aspect_ratio": 1.778,
        "vote_count": 3,
    }


@pytest.mark.parametrize(
    ("backdrops", "chosen"),
    [
        ([image("/en.jpg", "en", 9), image("/none.jpg", None, 1)], "/none.jpg"),
        ([image("/fr.jpg", "fr", 9), image("/en.jpg", "en", 1)], "/en.jpg"),
        ([image("/low.jpg", votes=4), image("/high.jpg", votes=6)], "/high.jpg"),
        ([image("/narrow.jpg", width=1280), image("/wide.jpg", width=3840)], "/wide.jpg"),
    ],
)
def test_the_backdrop_prefers_no_language_then_english_then_votes_then_width(
    client, mock, backdrops, chosen
):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    mock.get(f"{TMDB}/movie/37686/images", json={"id": 1, "backdrops": backdrops, "posters": []})

    images = get_watching(client).json()["content"]["images"]

    base = "https://image.tmdb.org/t/p"
    assert images == {
        "backdrop": f"{base}/w1280{chosen}",
        "backdrop_medium": f"{base}/w780{chosen}",
        "backdrop_small": f"{base}/w300{chosen}",
        "backdrop_original": f"{base}/original{chosen}",
    }


def test_the_sample_movie_gets_the_best_backdrop_and_a_poster(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    images = get_watching(client).json()["content"]["images"]

    # The first no-language backdrop in the sample has the highest vote_average (5.622).
    assert images["backdrop"] == "https://image.tmdb.org/t/p/w1280/hZkgoQYus5vegHoetLkCJzb17zJ.jpg"
    assert images["poster"].startswith("https://image.tmdb.org/t/p/w342/")


# --- TMDB failing only costs the images ----------------------------------------------------


@pytest.mark.parametrize(
    "tmdb_reply",
    [
        {"status": 401, "json": fixture("tmdb_error_7.json")},
        {"status": 404, "json": fixture("tmdb_error_34.json")},
        {"status": 429, "json": {"status_code": 25}},
        {"body": requests.Timeout("slow")},
        {"json": {"id": 1, "backdrops": [], "posters": []}},
        {"body": "<html>oops</html>"},
    ],
    ids=["401", "404", "429", "timeout", "empty", "not-json"],
)
def test_tmdb_failing_drops_only_the_images(client, mock, tmdb_reply):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    mock.get(f"{TMDB}/movie/37686/images", **tmdb_reply)

    response = get_watching(client)

    assert response.status_code == 200
    content = response.json()["content"]
    assert content["title"] == "Super 8"
    assert content["images"] == {}


# --- Trakt failing --------------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "status", "code"), TRAKT_FAILURES)
def test_trakt_failing_answers_with_an_error_code(client, mock, reply, status, code):
    mock.get(WATCHING_URL, **reply)

    response = get_watching(client)

    assert response.status_code == status
    body = response.json()
    assert body["isWatching"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "content" not in body


def test_forbidden_says_a_vip_owned_trakt_app_is_needed(client, mock):
    mock.get(WATCHING_URL, status=403)

    message = get_watching(client).json()["error"]["message"]

    assert "VIP" in message and "TRAKT_API_KEY" in message


def test_rate_limited_answers_503_with_retry_after(client, mock):
    mock.get(WATCHING_URL, status=429, headers={"Retry-After": "10"})

    response = get_watching(client)

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"]["retry_after"] == 10


def oversized_but_valid() -> bytes:
    """A good watching answer padded past 1 MB: only the size cap can refuse it."""
    return json.dumps(watching(pad="x" * 1_100_000)).encode()


def test_an_oversized_body_is_refused(client, mock):
    mock.get(WATCHING_URL, body=oversized_but_valid())

    response = get_watching(client)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_response"


def test_an_oversized_body_without_content_length_is_refused(client, mock):
    mock.get(WATCHING_URL, body=oversized_but_valid(), auto_calculate_content_length=False)

    response = get_watching(client)

    assert response.json()["error"]["code"] == "bad_response"


def test_not_configured_without_a_username(client, mock, settings):
    settings.TRAKT_USERNAME = ""

    response = get_watching(client)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert response["Retry-After"]
    assert not mock.calls


def test_not_configured_without_a_trakt_key(client, mock, settings):
    settings.TRAKT_API_KEY = ""

    response = get_watching(client)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"


# --- What is sent ---------------------------------------------------------------------------


def test_it_sends_traktS_required_headers(client, mock):
    mock.get(WATCHING_URL, status=204)

    get_watching(client)

    sent = mock.calls[0].request.headers
    assert sent["Content-Type"] == "application/json"
    assert re.fullmatch(r"nowwatching/\d+\.\d+\.\d+", sent["User-Agent"])
    assert sent["trakt-api-key"] == TRAKT_KEY
    assert sent["trakt-api-version"] == "2"
    assert "Authorization" not in sent


def test_with_an_access_token_it_asks_for_users_me_with_a_bearer(client, mock, settings):
    settings.TRAKT_ACCESS_TOKEN = TRAKT_TOKEN
    mock.get(f"{TRAKT}/users/me/watching", status=204)

    assert get_watching(client).json() == {"isWatching": False}
    assert mock.calls[0].request.headers["Authorization"] == f"Bearer {TRAKT_TOKEN}"


def test_tmdb_gets_the_read_access_token_as_a_bearer(client, mock, settings):
    settings.TMDB_READ_ACCESS_TOKEN = "tmdb-TOKEN-must-never-leak-e8b4"
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    get_watching(client)

    tmdb_call = next(c for c in mock.calls if c.request.url.startswith(TMDB))
    assert tmdb_call.request.headers["Authorization"] == "Bearer tmdb-TOKEN-must-never-leak-e8b4"
    assert "api_key" not in tmdb_call.request.url


def test_tmdb_gets_the_v3_key_as_a_query_parameter(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    get_watching(client)

    tmdb_call = next(c for c in mock.calls if c.request.url.startswith(TMDB))
    assert f"api_key={TMDB_KEY}" in tmdb_call.request.url


def test_the_username_is_url_quoted(client, mock, settings):
    settings.TRAKT_USERNAME = "sean.o_k-1"
    mock.get(f"{TRAKT}/users/sean.o_k-1/watching", status=204)

    assert get_watching(client).status_code == 200


# --- The endpoint itself ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
def test_only_get_and_head_are_allowed(client, mock, method):
    response = getattr(client, method)("/api/watching")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.json()["isWatching"] is False
    assert not mock.calls


def test_head_answers_like_get(client, mock):
    mock.get(WATCHING_URL, status=204)

    response = client.head("/api/watching")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_query_parameters_are_ignored(client, mock):
    mock.get(WATCHING_URL, status=204)

    response = client.get("/api/watching?user=someone-else&format=xml")

    assert response.json() == {"isWatching": False}
    assert mock.calls[0].request.url == WATCHING_URL


def test_it_tells_clients_to_revalidate(client, mock):
    mock.get(WATCHING_URL, status=204)

    response = client.get("/api/watching")

    assert "no-cache" in response["Cache-Control"]
    assert response["ETag"]


def test_healthz_never_touches_an_upstream(client, mock):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["cache"] == "ok"
    assert response.json()["database"] == "ok"
    assert not mock.calls


# --- Secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        {"json": fixture("trakt_watching_movie.json")},
        {"status": 401},
        {"status": 500},
        {"body": requests.ConnectionError(f"https://api.themoviedb.org/?api_key={TMDB_KEY}")},
        {"body": "{bad"},
    ],
)
def test_no_key_appears_in_any_answer_or_log_line(client, mock, settings, caplog, reply):
    settings.TRAKT_ACCESS_TOKEN = TRAKT_TOKEN
    mock.get(f"{TRAKT}/users/me/watching", **reply)
    mock.get(
        re.compile(rf"{TMDB}/.*"),
        body=requests.ConnectionError(f"https://api.themoviedb.org/?api_key={TMDB_KEY}"),
    )

    with caplog.at_level(logging.DEBUG):
        response = get_watching(client)

    seen = response.content.decode() + str(response.headers) + caplog.text
    for secret in SECRETS:
        assert secret not in seen


def test_each_upstream_failure_is_logged_once_with_its_code(client, mock, caplog):
    mock.get(WATCHING_URL, status=500)

    with caplog.at_level(logging.WARNING):
        response = get_watching(client)

    assert response.status_code == 502
    # Only ours: Django's own "Bad Gateway" line for the 502 would say it a second time.
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Trakt watching failed: unavailable (HTTP 500) at api.trakt.tv"]
