"""Hostile upstreams, over real sockets: the total deadline at the socket, odd headers, odd
bodies and odd fields. Whatever Trakt and TMDB send, every endpoint answers with a documented
status (never a 500) in bounded time, and the page renders.

The fake's switchable behaviours are in tests/fake_upstream/ (WIRE_FAULTS, FAULTS, HOSTILE).
"""

import json
import time
import xml.etree.ElementTree as ET

import pytest

from profile.client import TmdbAuth, TraktAuth, UpstreamError, tmdb, trakt
from profile.client import http as upstream_http
from tests import fake_upstream
from tests.contract import assert_matches_openapi
from tests.fake_upstream import FAULTS, HOSTILE

DEADLINE = 1.0
# What "within the deadline" allows on a busy 2-core machine: the watchdog wakes at the
# deadline, the error travels up, the thread is scheduled.
SLACK = 0.75
SLOW_WIRE_FAULTS = ["slow_status", "slow_headers", "stall_headers", "drip", "timeout"]


@pytest.fixture
def fake(reset_fake, monkeypatch):
    # The read timeout stays far above the deadline: only the deadline can end these calls.
    monkeypatch.setattr(upstream_http, "TOTAL_DEADLINE", {"trakt": DEADLINE, "tmdb": DEADLINE})
    monkeypatch.setattr(upstream_http, "READ_TIMEOUT", {"trakt": 30.0, "tmdb": 30.0})
    reset_fake.set(timeout_seconds=5 * DEADLINE, drip_seconds=0.2)
    return reset_fake


def trakt_watching():
    return trakt.watching(TraktAuth(fake_upstream.TRAKT_KEY), "sean")


def tmdb_images():
    return tmdb.images(TmdbAuth(api_key=fake_upstream.TMDB_KEY), "movie", 37686)


def timed(call) -> tuple[float, UpstreamError | None]:
    started = time.monotonic()
    try:
        call()
    except UpstreamError as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


# --- The total deadline ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", SLOW_WIRE_FAULTS)
@pytest.mark.parametrize("service", ["trakt", "tmdb"])
def test_a_slow_status_line_headers_or_body_end_at_the_total_deadline(fake, fault, service):
    fake.set(**{f"{service}_fault": fault})

    took, error = timed(trakt_watching if service == "trakt" else tmdb_images)

    assert error is not None and error.code == "timeout"
    assert took < DEADLINE + SLACK


@pytest.mark.parametrize("fault", ["slow_status", "slow_headers"])
def test_the_deadline_also_holds_on_a_kept_alive_connection(fake, fault):
    assert trakt_watching() is not None  # opens a connection the pool keeps
    fake.set(trakt_fault=fault)

    took, error = timed(trakt_watching)

    assert error is not None and error.code == "timeout"
    assert took < DEADLINE + SLACK


def test_a_finished_exchange_leaves_its_kept_connection_alone(fake):
    # The first exchange's deadline passes while its connection idles in the pool; the
    # second exchange reuses that connection and must not be cut by the first's watchdog.
    trakt_watching()
    time.sleep(DEADLINE + 0.2)  # waiting out a deadline, not for an event

    took, error = timed(trakt_watching)

    assert error is None
    assert fake.calls("trakt:") == 2


def test_an_unreachable_upstream_is_unavailable_at_once(fake, settings):
    from tests.servers import free_port

    settings.TRAKT_API_URL = f"http://127.0.0.1:{free_port()}/trakt"

    took, error = timed(trakt_watching)

    assert error is not None and error.code == "unavailable"
    assert took < DEADLINE


# --- Odd wire, odd headers, odd bodies -------------------------------------------------------

# What each fault becomes for Trakt's watching call (None: a normal answer).
WIRE_OUTCOMES = {
    "gzip_bomb": "bad_response",  # inflated only up to the size cap, then refused
    "bad_gzip": "bad_response",
    "deep_nesting": "bad_response",
    "deep_object": "bad_response",
    "nan": "bad_response",
    "invalid_utf8": "bad_response",
    "huge_header": "unavailable",  # http.client refuses a line over 64 KB
    "many_headers": "unavailable",  # ... and more than 100 headers
    "malformed_header": "timeout",  # the body has no length: read until the deadline
    "absurd_headers": None,  # nonsense rate-limit and pagination headers are ignored
    "429_absurd": "rate_limited",
    "429_date": "rate_limited",
}


@pytest.mark.parametrize(("fault", "code"), WIRE_OUTCOMES.items())
def test_odd_wire_and_headers_give_a_clear_error_or_are_ignored(fake, fault, code):
    fake.set(trakt_fault=fault)

    took, error = timed(trakt_watching)

    assert (error.code if error else None) == code
    assert took < DEADLINE + SLACK


def test_an_absurd_retry_after_blocks_trakt_for_at_most_an_hour(fake):
    from django.core.cache import cache

    fake.set(trakt_fault="429_date")  # Retry-After: the last day of year 9999

    _, error = timed(trakt_watching)

    assert error.retry_after == 3600
    assert cache.get(trakt.RATE_LIMIT_KEY) <= time.time() + 3600


ENDPOINTS = ["/api/watching", "/api/profile", "/api/stats"]
ODD_BODIES = ["deep_nesting", "deep_object", "nan", "invalid_utf8", "gzip_bomb", "bad_gzip"]


@pytest.mark.parametrize("fault", [*ODD_BODIES, "absurd_headers", "malformed_header"])
def test_every_endpoint_and_the_page_answer_odd_wire_with_a_documented_status(client, fake, fault):
    fake.set(trakt_fault=fault, tmdb_fault=fault)

    for path in ENDPOINTS:
        response = client.get(path)
        assert response.status_code in (200, 502, 503, 504), path
        assert_matches_openapi(response, path)
    assert client.get("/").status_code == 200
    ET.fromstring(client.get("/api/watching.svg").content)


# --- Odd fields: valid JSON, hostile values --------------------------------------------------


@pytest.mark.parametrize("scenario", ["movie", "episode", "idle"])
@pytest.mark.parametrize("case", HOSTILE)
def test_odd_fields_never_crash_an_endpoint_the_page_or_the_card(client, fake, case, scenario):
    fake.set(hostile=case, watching=scenario)

    for path in ENDPOINTS:
        response = client.get(path)
        assert response.status_code in (200, 502), (path, response.content[:300])
        assert_matches_openapi(response, path)
        json.dumps(response.json())  # nothing unencodable got through
        if response.status_code == 502:
            assert response.json()["error"]["code"] == "bad_response"
    page = client.get("/")
    assert page.status_code == 200
    page.content.decode("utf-8")
    card = client.get("/api/watching.svg")
    assert card.status_code == 200
    ET.fromstring(card.content)  # well-formed XML: nothing XML cannot hold


# What the boundary keeps of each case (the movie scenario): the answer, or bad_response.
WATCHING_OUTCOMES = {
    "calendar_ends": 200,  # the first and last moments accepted: shown, with sane progress
    "beyond_calendar": 502,
    "zoneless": 502,
    "not_dates": 502,
    "odd_date_forms": 502,
    "lone_surrogates": 200,  # the title is dropped ("Untitled"), the action a scrobble
    "control_chars": 200,
    "empty_strings": 200,
    "nulls": 200,
    "huge_numbers": 200,
    "long_strings": 200,
    "wrong_types": 200,
}


@pytest.mark.parametrize(("case", "status"), WATCHING_OUTCOMES.items())
def test_the_watching_answer_keeps_what_is_sound_and_drops_what_is_not(client, fake, case, status):
    fake.set(hostile=case)

    response = client.get("/api/watching")

    assert response.status_code == status
    if status != 200:
        return
    content = response.json()["content"]
    assert content["title"]  # never empty: "Untitled" stands in
    assert 0 <= content["progress"]["percentage"] <= 100
    assert len(content["title"]) <= 1000
    assert not any(ord(c) < 32 for c in content["title"])


def test_dropped_optional_fields_leave_sane_defaults(client, fake):
    fake.set(hostile="nulls", watching="episode")

    content = client.get("/api/watching").json()["content"]
    profile = client.get("/api/profile").json()["profile"]

    assert (content["title"], content["year"], content["ids"]["tmdb"]) == ("Untitled", None, None)
    assert content["subtitle"] == "S0E2"
    assert content["images"] == {}  # no TMDB id: no artwork, no TMDB call
    assert (profile["name"], profile["avatar"], profile["joined_at"]) == (None, None, None)


def test_huge_but_valid_numbers_pass_and_the_impossible_ones_are_dropped(client, fake):
    fake.set(hostile="huge_numbers")

    content = client.get("/api/watching").json()["content"]
    stats = client.get("/api/stats").json()["stats"]

    assert content["ids"]["trakt"] == 2**53
    assert content["ids"]["tmdb"] is None  # 2**64 is no TMDB id
    assert content["year"] == 2200
    assert stats["movies"]["minutes"] == 2**53
    assert stats["totals"]["minutes"] == 2**54  # a sum, not a field: no bound to break
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - {"ok"}))
def test_every_static_fault_of_the_fake_is_answered(client, fake, fault):
    fake.set(trakt_fault=fault, tmdb_fault=fault)

    assert client.get("/api/watching").status_code in (200, 502, 503, 504)
    assert client.get("/").status_code == 200
