"""The real server stack (live_server, real sockets) against the loopback fake upstream."""

import json
import time
import urllib.request

import pytest


def fetch(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_watching_a_movie_end_to_end(live_server, fake):
    status, _, body = fetch(f"{live_server.url}/api/watching")

    assert status == 200
    assert body["content"]["title"] == "Super 8"
    assert body["content"]["progress"]["percentage"] == 33  # 37 of 112 minutes
    assert body["content"]["images"]["backdrop"].startswith(f"{fake.url}/img/w1280/")


def test_an_episode_end_to_end(live_server, fake):
    fake.set(watching="episode", runtime_minutes=45)

    body = fetch(f"{live_server.url}/api/watching")[2]

    assert body["content"]["subtitle"] == "S0E2 - Wedding Day"
    assert "still" in body["content"]["images"]


def test_a_slowly_dripped_answer_is_cut_off_by_the_total_deadline(live_server, fake):
    fake.set(trakt_fault="drip")

    started = time.monotonic()
    status, _, body = fetch(f"{live_server.url}/api/watching")

    assert status == 504
    assert body["error"]["code"] == "timeout"
    assert time.monotonic() - started < 8


def test_an_upstream_without_a_user_agent_would_refuse_us(fake):
    # The fake behaves like Trakt's CDN; our client always sends one, so this shows the fake.
    request = urllib.request.Request(f"{fake.url}/trakt/users/sean/watching")
    request.add_unredirected_header("User-agent", "")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
