"""Upstream headers are parsed defensively: nonsense is ignored, never an exception."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from profile.client.http import Reply, header_int, retry_after_seconds
from profile.client.trakt import RATE_LIMIT_KEY, Pagination, error_for, note_rate_limit
from tests.fake_upstream import ABSURD_RATE_LIMITS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7),
        (" 12 ", 12),
        ("0", 0),
        ("", None),
        ("-3", None),
        ("+3", None),
        ("2.5", None),
        ("1e3", None),
        ("٣", None),  # an Arabic-Indic digit: isdigit() says yes, int() would take it
        ("\xb3", None),  # a superscript 3: isdigit() says yes, int() refuses it
        ("9" * 400, None),
        ("99999999999", None),  # above the bound
    ],
)
def test_an_integer_header_is_a_bounded_plain_number_or_nothing(raw, expected):
    assert header_int({"X-Pagination-Page": raw}, "X-Pagination-Page") == expected


def test_pagination_headers_are_read_each_on_its_own():
    headers = {
        "X-Pagination-Page": "2",
        "X-Pagination-Limit": "250",
        "X-Pagination-Page-Count": "nonsense",
        "X-Pagination-Item-Count": "2604",
    }
    assert Pagination.from_headers(headers) == Pagination(2, 250, None, 2604)
    assert Pagination.from_headers({}) == Pagination(None, None, None, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("10", 10), ("0", 1), ("2.2", 3), ("1e999", 60), ("inf", 60), ("nan", 60), ("-5", 60),
     ("99999999", 3600), ("9" * 500, 60), ("soon", 60), ("", 60), ("1_0", 60), ("١٠", 60),
     ("\x00", 60)],
)  # fmt: skip
def test_retry_after_is_clamped_to_a_second_up_to_an_hour(raw, expected):
    assert retry_after_seconds({"Retry-After": raw}) == expected


NOW = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 23 Nov 2026 21:02:00 GMT", 120),
        ("Mon, 23 Nov 2026 20:00:00 GMT", 1),  # in the past
        ("Fri, 31 Dec 9999 23:59:59 GMT", 3600),
        ("Mon, 01 Jan 0001 00:00:00 GMT", 1),
        ("Fri, 31 Dec 9999 23:59:59 -2359", 3600),  # past year 9999 in UTC
        ("Mon, 99 Nov 2026 21:02:00 GMT", 60),
        ("Mon, 23 Nov 2026 21:02:00", 120),  # no zone: GMT, as HTTP dates are
    ],
)
def test_retry_after_may_be_an_http_date(raw, expected):
    with time_machine.travel(NOW, tick=False):
        assert retry_after_seconds({"Retry-After": raw}) == expected


def _low(remaining: int, limit: int) -> dict:
    info = {"name": "AUTHED_API_GET_LIMIT", "period": 300, "limit": limit, "remaining": remaining}
    return {"X-Ratelimit": json.dumps(info)}


@pytest.mark.parametrize("raw", [*ABSURD_RATE_LIMITS, "", "{" * 2000, '{"limit": 10' + "0" * 2000])
def test_an_absurd_x_ratelimit_is_ignored(raw, caplog):
    with caplog.at_level(logging.WARNING, logger="profile.client"):
        note_rate_limit(Reply(200, {"X-Ratelimit": raw}))

    assert "rate limit" not in caplog.text


def test_a_low_x_ratelimit_is_still_noticed(caplog):
    with caplog.at_level(logging.WARNING, logger="profile.client"):
        note_rate_limit(Reply(200, _low(remaining=99, limit=1000)))
        note_rate_limit(Reply(200, _low(remaining=100, limit=1000)))

    assert caplog.text.count("Trakt rate limit running low") == 1
    assert "99 of 1000 calls left" in caplog.text


@pytest.mark.parametrize(
    ("raw", "blocked_for"),
    [("30", 30), ("9" * 500, 60), ("99999999", 3600), ("Fri, 31 Dec 9999 23:59:59 GMT", 3600)],
)
def test_the_429_block_in_the_cache_lasts_the_clamped_retry_after(raw, blocked_for):
    with time_machine.travel(NOW, tick=False):
        error = error_for(Reply(429, {"Retry-After": raw, "X-Ratelimit": ABSURD_RATE_LIMITS[0]}))
        blocked_until = cache.get(RATE_LIMIT_KEY)

    assert (error.code, error.retry_after) == ("rate_limited", blocked_for)
    assert blocked_until == NOW.timestamp() + blocked_for
    # And the cache forgets it then: one second later, nothing is blocked.
    with time_machine.travel(NOW + timedelta(seconds=blocked_for + 1), tick=False):
        assert cache.get(RATE_LIMIT_KEY) is None


def test_absurd_pagination_headers_are_each_ignored():
    headers = {
        "X-Pagination-Page": "-1",
        "X-Pagination-Limit": "1e999",
        "X-Pagination-Page-Count": "9" * 500,
        "X-Pagination-Item-Count": "\xb3",
    }
    assert Pagination.from_headers(headers) == Pagination(None, None, None, None)
