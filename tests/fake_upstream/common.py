"""What every part of the fake shares: its keys, the recorded payloads, the faults it can play."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


TRAKT_KEY = "fake-trakt-client-id-0123456789"


TMDB_KEY = "fake-tmdb-api-key-0123456789"


TRAKT_SECRET = "fake-trakt-client-secret-0123456789"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


DEFAULTS = {
    "watching": "movie",
    "started_minutes_ago": 37,
    "started_at": None,  # an absolute start (ISO 8601), for tests that move the clock
    "runtime_minutes": 112,
    "title": None,  # overrides the movie's or show's title
    "delay": 0.0,
    "watching_delay": 0.0,
    # True: /watching answers only once set back to False (a test's own moment, not a delay).
    "watching_hold": False,
    "trakt_fault": None,
    "tmdb_fault": None,
    "profile": "full",
    "flip": None,
    "flip_seconds": 0.25,
    "retry_after": 2,
    "timeout_seconds": 6.0,
    # Trakt's auth host (FakeTokens):
    "expires_in": 7 * 24 * 3600,  # of every token issued
    "issued_ago": 0,  # the device flow's tokens say they were created this many seconds ago
    "clock_behind": 0,  # every token's created_at is this many seconds behind the real time
    "device_interval": 5,
    "device_expires_in": 600,
    "device_script": [],  # what the device-token polls answer, in turn (400, 429, 410, ...); then 200
    "refresh_fault": None,  # invalid_grant (401), invalid_grant_400, invalid_client, 500, timeout
    "auth_delay": 0.0,  # seconds each token renewal takes to answer, after Trakt swapped the pair
    "private_user": False,  # /users/<slug>/... without the owner's token: 401 X-Private-User
    "rate_limit": None,  # {"remaining": 480, "limit": 500}: an X-Ratelimit on every Trakt answer
    "hostile": None,  # a HOSTILE case
    # The profile's avatar address; "{url}" is the fake's own (its /img/ answers a PNG).
    "avatar": None,
    "drip_seconds": 0.3,  # the gap between bytes of the slow_* faults
}


# Each fault is (status, headers, body); "timeout" and "drip" are handled in the handler.
FAULTS = {
    "ok": None,
    "500": (500, {"Content-Type": "text/plain"}, b"Internal Server Error"),
    "invalid_json": (200, {"Content-Type": "application/json"}, b'{"started_at": "2024-'),
    "html": (200, {"Content-Type": "text/html"}, b"<html><body>Maintenance</body></html>"),
    "html403": (
        403,
        {"Content-Type": "text/html", "Server": "cloudflare"},
        b"<html><body>Forbidden</body></html>",
    ),
    "401": (401, {"Content-Type": "application/json"}, b""),
    "private": (401, {"X-Private-User": "true"}, b""),
    "wrong_shape": (200, {"Content-Type": "application/json"}, b'{"type": "movie", "movie": 5}'),
    "list": (200, {"Content-Type": "application/json"}, b"[1, 2, 3]"),
    "huge": (200, {"Content-Type": "application/json"}, b'{"pad": "' + b"x" * 2_000_000 + b'"}'),
    # Valid JSON nested deeper than any parser's stack (the json module: a RecursionError).
    "deep_nesting": (200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
    "deep_object": (
        200,
        {"Content-Type": "application/json"},
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ),
    "nan": (200, {"Content-Type": "application/json"}, b'{"type": "movie", "pad": NaN}'),
    # Bytes that are not UTF-8 inside a string.
    "invalid_utf8": (
        200,
        {"Content-Type": "application/json"},
        b'{"type": "movie", "movie": {"title": "\xff\xfe\xc3\x28", "ids": {"trakt": 1}}}',
    ),
    "bad_gzip": (
        200,
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        b"\x1f\x8bnot gzip at all",
    ),
}


# Faults that play with the wire itself (handled in the handler): the total deadline, header
# parsing, decompression. slow_status and slow_headers drip their bytes `drip_seconds` apart
# (each read is in time, the whole is not); stall_headers stops halfway through its headers
# for `timeout_seconds`; the *_headers ones send a valid answer with hostile headers.
WIRE_FAULTS = (
    "timeout",
    "drip",
    "endless",
    "slow_status",
    "slow_headers",
    "stall_headers",
    "gzip_bomb",
    "malformed_header",
    "huge_header",
    "many_headers",
    "absurd_headers",
    "429_absurd",
    "429_date",
)


# Rate-limit and pagination headers no parser should choke on.
ABSURD_RATE_LIMITS = [
    "[" * 5000 + "]" * 5000,
    '{"limit": 1e999, "remaining": -1e999}',
    '{"limit": ' + "9" * 400 + ', "remaining": 1}',
    '{"limit": ' + "9" * 5000 + ', "remaining": 1}',
    '{"limit": "lots", "remaining": null}',
    '{"limit": 0, "remaining": 0}',
    "[1, 2]",
    "not json",
]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def oauth_error(status: int, error: str) -> tuple[int, dict, bytes]:
    body = {"error": error, "error_description": f"fake: {error}"}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def json_answer(body) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
