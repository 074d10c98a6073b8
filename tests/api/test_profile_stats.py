"""GET /api/profile and /api/stats against Trakt answered by `responses` (official samples)."""

from datetime import timedelta

import pytest
import requests
import time_machine

from profile.live.cache import wait_for_refreshes
from tests.upstream import TRAKT, TRAKT_FAILURES, fixture

PROFILE_URL = f"{TRAKT}/users/sean"
STATS_URL = f"{TRAKT}/users/sean/stats"
# The failures every Trakt call shares (the rest are about a watching body's shape).
HTTP_FAILURES = [case for case in TRAKT_FAILURES if "json" not in case[0]]


def test_the_profile_has_what_the_page_shows(client, mock):
    mock.get(PROFILE_URL, json=fixture("trakt_user_profile_extended_full.json"))

    response = client.get("/api/profile")

    assert response.status_code == 200
    assert response.json() == {
        "profile": {
            "username": "sean",
            "slug": "sean",
            "name": "Sean Rudford",
            "private": False,
            "vip": True,
            "vip_ep": True,
            "avatar": "https://walter-dev.trakt.tv/images/users/000/000/001/avatars/large/0ba3f72910.jpg",
            "location": "SF",
            "about": "I have all your cassette tapes.",
            "joined_at": "2010-09-25T17:49:25.000Z",
            "links": {"trakt": "https://trakt.tv/users/sean"},
        }
    }
    assert "extended=full%2Cimages" in mock.calls[0].request.url


def test_a_slug_that_begins_with_an_underscore_is_a_profile_like_any(client, mock, settings):
    settings.TRAKT_USERNAME = "_captain"
    body = fixture("trakt_user_profile_extended_full.json")
    body |= {"username": "_captain", "ids": {"slug": "_captain"}}
    mock.get(f"{TRAKT}/users/_captain", json=body)

    response = client.get("/api/profile")
    page = client.get("/")

    assert response.status_code == 200
    profile = response.json()["profile"]
    assert profile["slug"] == "_captain"
    assert profile["links"]["trakt"] == "https://trakt.tv/users/_captain"
    assert 'href="https://trakt.tv/users/_captain"' in page.content.decode()


def test_a_profile_without_a_slug_is_the_one_asked_for(client, mock):
    body = fixture("trakt_user_profile_extended_full.json")
    body["ids"] = {"slug": None, "trakt": 1}
    mock.get(PROFILE_URL, json=body)

    profile = client.get("/api/profile").json()["profile"]

    # Trakt answered /users/sean: that is its address.
    assert profile["slug"] == "sean"
    assert profile["links"]["trakt"] == "https://trakt.tv/users/sean"


def test_the_owners_profile_without_a_slug_has_no_trakt_link(client, mock, settings):
    settings.TRAKT_ACCESS_TOKEN = "owner-token-0123456789"
    body = fixture("trakt_user_profile_extended_full.json")
    del body["ids"]["slug"]
    mock.get(f"{TRAKT}/users/me", json=body)

    response = client.get("/api/profile")
    page = client.get("/")

    assert response.status_code == 200
    assert response.json()["profile"]["slug"] is None
    assert response.json()["profile"]["links"] == {"trakt": None}
    assert page.status_code == 200
    assert "Sean Rudford" in page.content.decode()
    assert "trakt.tv/users/" not in page.content.decode()


def test_a_private_profile_has_nulls_for_what_trakt_hides(client, mock):
    mock.get(PROFILE_URL, json=fixture("trakt_user_profile_private.json"))

    profile = client.get("/api/profile").json()["profile"]

    assert profile["private"] is True
    assert profile["name"] is None
    assert profile["avatar"] is None
    assert profile["joined_at"] is None


def test_an_avatar_that_is_not_http_is_dropped(client, mock):
    body = fixture("trakt_user_profile_extended_full.json")
    body["images"]["avatar"]["full"] = "javascript:alert(1)"
    mock.get(PROFILE_URL, json=body)

    assert client.get("/api/profile").json()["profile"]["avatar"] is None


def test_the_stats_carry_every_count_and_totals(client, mock):
    mock.get(STATS_URL, json=fixture("trakt_user_stats.json"))

    response = client.get("/api/stats")

    assert response.status_code == 200
    stats = response.json()["stats"]
    assert stats["movies"] == {
        "plays": 155,
        "watched": 114,
        "minutes": 15650,
        "collected": 933,
        "ratings": 256,
        "comments": 28,
    }
    # The sample leaves out counts Trakt has none of: they are 0, never missing.
    assert stats["seasons"] == {
        "plays": 0,
        "watched": 0,
        "minutes": 0,
        "collected": 0,
        "ratings": 6,
        "comments": 1,
    }
    assert stats["network"] == {"friends": 1, "followers": 4, "following": 11}
    assert stats["ratings"]["total"] == 389
    assert stats["ratings"]["distribution"]["10"] == 215
    assert stats["totals"] == {"plays": 155 + 552, "minutes": 15650 + 17330}


def test_the_rating_distribution_always_has_1_to_10(client, mock):
    stats = fixture("trakt_user_stats.json")
    stats["ratings"] = {"total": 2, "distribution": {"7": 2, "11": 5}}
    mock.get(STATS_URL, json=stats)

    distribution = client.get("/api/stats").json()["stats"]["ratings"]["distribution"]

    assert list(distribution) == [str(n) for n in range(1, 11)]
    assert distribution["7"] == 2 and sum(distribution.values()) == 2


@pytest.mark.parametrize(
    ("path", "url"), [("/api/profile", PROFILE_URL), ("/api/stats", STATS_URL)]
)
@pytest.mark.parametrize(("reply", "status", "code"), HTTP_FAILURES)
def test_trakt_failing_answers_with_the_shared_error_shape(
    client, mock, path, url, reply, status, code
):
    mock.get(url, **reply)

    response = client.get(path)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "url"), [("/api/profile", PROFILE_URL), ("/api/stats", STATS_URL)]
)
def test_a_body_of_the_wrong_shape_is_a_bad_response(client, mock, path, url):
    mock.get(url, json=[1, 2])

    response = client.get(path)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_response"


def test_stats_without_their_sections_are_a_bad_response(client, mock):
    mock.get(STATS_URL, json={"type": "movie", "movie": 5})

    assert client.get("/api/stats").json()["error"]["code"] == "bad_response"


def test_a_profile_without_a_username_is_a_bad_response(client, mock):
    mock.get(PROFILE_URL, json={"type": "movie", "movie": 5})

    assert client.get("/api/profile").json()["error"]["code"] == "bad_response"


@pytest.mark.parametrize("path", ["/api/profile", "/api/stats"])
def test_rate_limited_says_when_to_retry(client, mock, path):
    mock.get(PROFILE_URL, status=429, headers={"Retry-After": "10"})
    mock.get(STATS_URL, status=429, headers={"Retry-After": "10"})

    response = client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"]["retry_after"] == 10


@pytest.mark.parametrize("path", ["/api/profile", "/api/stats"])
def test_not_configured_is_503(client, mock, settings, path):
    settings.TRAKT_API_KEY = ""

    response = client.get(path)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert response["Retry-After"] == "3600"
    assert not mock.calls


@pytest.mark.parametrize(
    ("path", "url", "name", "key"),
    [
        ("/api/profile", PROFILE_URL, "trakt_user_profile_extended_full.json", "profile"),
        ("/api/stats", STATS_URL, "trakt_user_stats.json", "stats"),
    ],
)
def test_trakt_failing_later_serves_the_last_good_answer_marked_stale(
    client, mock, path, url, name, key
):
    with time_machine.travel("2026-01-01 12:00Z", tick=False) as clock:
        good = mock.get(url, json=fixture(name))
        first = client.get(path).json()
        clock.shift(timedelta(minutes=16))  # past the 15 minutes of reuse
        mock.remove(good)
        mock.get(url, status=500)

        # This caller gets the kept answer at once; its refresh in the background fails.
        assert "stale" not in client.get(path).json()
        wait_for_refreshes()
        response = client.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body["stale"] is True
    assert body[key] == first[key]
    assert response["Age"] == str(16 * 60)


@pytest.mark.parametrize(
    ("path", "url"), [("/api/profile", PROFILE_URL), ("/api/stats", STATS_URL)]
)
def test_the_answer_is_reused_for_15_minutes(client, mock, path, url):
    mock.get(PROFILE_URL, json=fixture("trakt_user_profile_extended_full.json"))
    mock.get(STATS_URL, json=fixture("trakt_user_stats.json"))

    with time_machine.travel("2026-01-01 12:00Z", tick=False) as clock:
        client.get(path)
        clock.shift(timedelta(minutes=14))
        client.get(path)
        assert len(mock.calls) == 1
        clock.shift(timedelta(minutes=2))
        client.get(path)  # the kept answer, refreshed in the background
        wait_for_refreshes()
        assert len(mock.calls) == 2


@pytest.mark.parametrize("path", ["/api/profile", "/api/stats"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
def test_only_get_and_head_are_allowed(client, mock, path, method):
    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "method_not_allowed"
    assert not mock.calls


@pytest.mark.parametrize("path", ["/api/profile", "/api/stats", "/api/watching"])
def test_every_api_answer_may_be_read_by_any_web_page(client, mock, path):
    mock.get(PROFILE_URL, body=requests.ConnectionError("refused"))
    mock.get(STATS_URL, json=fixture("trakt_user_stats.json"))
    mock.get(f"{TRAKT}/users/sean/watching", status=204)
    origin = {"HTTP_ORIGIN": "https://someone-elses.example"}

    for response in (client.get(path, **origin), client.post(path, **origin)):
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("path", ["/api/profile", "/api/stats"])
def test_an_unchanged_answer_is_304_with_its_etag(client, mock, path):
    mock.get(PROFILE_URL, json=fixture("trakt_user_profile_extended_full.json"))
    mock.get(STATS_URL, json=fixture("trakt_user_stats.json"))

    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first["ETag"]})

    assert "no-cache" in first["Cache-Control"]
    assert again.status_code == 304
    assert again.content == b""


def test_demo_mode_says_so(client, settings):
    settings.DEMO_MODE = True

    for path in ("/api/profile", "/api/stats"):
        assert client.get(path).json()["demo"] is True
