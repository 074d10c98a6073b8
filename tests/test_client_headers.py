"""Upstream headers are parsed defensively: nonsense is ignored, never an exception."""

import pytest

from profile.client.http import header_int, retry_after_seconds
from profile.client.trakt import Pagination


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
    [("10", 10), ("0", 1), ("2.2", 3), ("1e999", 60), ("inf", 60), ("nan", 60), ("-5", 1),
     ("99999999", 3600), ("soon", 60), ("", 60)],
)  # fmt: skip
def test_retry_after_is_clamped_to_a_second_up_to_an_hour(raw, expected):
    assert retry_after_seconds({"Retry-After": raw}) == expected
