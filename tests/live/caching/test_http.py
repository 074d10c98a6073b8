"""HTTP caching: clients revalidate with the ETag and get 304s (/api/watching above all)."""

import re
from datetime import timedelta

import pytest
import responses
import time_machine

from nowwatching.etags import etag_of
from tests.api.test_watching import MOVIE_HALFWAY
from tests.upstream import TRAKT, WATCHING_URL, add_tmdb, at, fixture


def watching_at(client, moment, **headers):
    with at(moment):
        return client.get("/api/watching", headers=headers)


def test_the_answer_has_an_etag_and_must_be_revalidated(client, mock):
    mock.get(WATCHING_URL, status=204)

    response = watching_at(client, MOVIE_HALFWAY)

    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Cache-Control"] == "no-cache"


def test_a_matching_if_none_match_gets_304_without_a_body(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    etag = watching_at(client, MOVIE_HALFWAY)["ETag"]

    revalidated = watching_at(client, MOVIE_HALFWAY, if_none_match=etag)

    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated["ETag"] == etag


def test_the_etag_is_stable_while_the_body_is_unchanged(client, mock):
    mock.get(WATCHING_URL, status=204)

    tags = {watching_at(client, MOVIE_HALFWAY + timedelta(seconds=s))["ETag"] for s in range(30)}

    assert len(tags) == 1  # two Trakt answers (two reuse windows), one body, one ETag


def test_a_changed_body_gets_a_new_etag_and_a_full_answer(client, mock):
    mock.get(WATCHING_URL, status=204)
    idle_tag = watching_at(client, MOVIE_HALFWAY)["ETag"]
    mock.replace(responses.GET, WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)

    # The first caller after the window gets the kept body (304) while it is refreshed.
    kept = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=16), if_none_match=idle_tag)
    changed = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=16), if_none_match=idle_tag)

    assert kept.status_code == 304

    assert changed.status_code == 200
    assert changed.json()["content"]["title"] == "Super 8"
    assert changed["ETag"] != idle_tag


def test_the_progress_moving_changes_the_etag(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    etag = watching_at(client, MOVIE_HALFWAY)["ETag"]

    # Still the cached Trakt answer, but remaining_seconds is computed at answer time.
    later = watching_at(client, MOVIE_HALFWAY + timedelta(seconds=5), if_none_match=etag)

    assert later.status_code == 200
    assert later["ETag"] != etag


def test_head_gets_the_same_etag_and_304(client, mock):
    mock.get(WATCHING_URL, status=204)
    etag = watching_at(client, MOVIE_HALFWAY)["ETag"]

    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        head = client.head("/api/watching")
        revalidated = client.head("/api/watching", headers={"if-none-match": etag})

    assert head.status_code == 200 and head["ETag"] == etag
    assert revalidated.status_code == 304


def test_an_error_answer_is_never_304(client, mock):
    mock.get(WATCHING_URL, status=500)

    response = watching_at(client, MOVIE_HALFWAY, if_none_match="*")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unavailable"


@pytest.mark.parametrize(
    "path",
    ["/api/watching", "/api/profile", "/api/stats", "/api/watching.svg", "/api/openapi.json",
     "/healthz"],
)  # fmt: skip
def test_every_etag_is_its_bodys_fingerprint_and_head_carries_the_same(client, mock, path):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    mock.get(
        re.compile(rf"{TRAKT}/users/sean(\?.*)?$"),
        json=fixture("trakt_user_profile_extended_full.json"),
    )
    mock.get(f"{TRAKT}/users/sean/stats", json=fixture("trakt_user_stats.json"))
    add_tmdb(mock)

    with at(MOVIE_HALFWAY):
        get = client.get(path)
        head = client.head(path)
        revalidated = client.head(path, headers={"if-none-match": get["ETag"]})

    assert get.status_code == 200
    assert get["ETag"] == etag_of(get.content)
    assert head["ETag"] == get["ETag"] and head.content == b""
    assert revalidated.status_code == 304


def test_the_pages_etag_is_its_bodys_fingerprint(client, mock):
    mock.get(WATCHING_URL, status=204)

    with at(MOVIE_HALFWAY):
        page = client.get("/")
        again = client.get("/", headers={"if-none-match": page["ETag"]})

    assert page["ETag"] == etag_of(page.content)
    assert again.status_code == 304
