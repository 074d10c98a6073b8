"""How numbers, durations and moments read on the page."""

from datetime import UTC, datetime, timedelta

import pytest

from profile import formatting


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (999, "999"), (14800, "14,800"), (1234567, "1,234,567")],
)
def test_numbers_are_grouped_in_thousands(number, text):
    assert formatting.grouped(number) == text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "0 min"),
        (45, "45 min"),
        (60, "1 h"),
        (312, "5 h 12 min"),
        (47 * 60 + 59, "47 h 59 min"),
        (48 * 60, "2 d"),
        (118 * 24 * 60 + 22 * 60 + 30, "118 d 22 h"),
        (1500 * 24 * 60, "1,500 d"),
        (-5, "0 min"),
    ],
)
def test_watch_time_reads_in_minutes_hours_then_days(minutes, text):
    assert formatting.watch_time(minutes) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min left"),
        (1, "1 min left"),
        (60, "1 min left"),
        (61, "2 min left"),
        (59 * 60, "59 min left"),
        (59 * 60 + 1, "1 h left"),
        (60 * 60, "1 h left"),
        (65 * 60, "1 h 5 min left"),
        (80 * 60, "1 h 20 min left"),
        (3 * 3600 + 30, "3 h 1 min left"),
        (-5, "0 min left"),
    ],
)
def test_time_left_rounds_up_to_whole_minutes_then_reads_in_hours(seconds, text):
    # One rule for the page, its script and the card.
    assert formatting.time_left(seconds) == text


@pytest.mark.parametrize(
    ("hour", "minute", "text"),
    [(0, 0, "12:00 AM"), (1, 33, "1:33 AM"), (9, 5, "9:05 AM"), (12, 0, "12:00 PM"),
     (13, 7, "1:07 PM"), (23, 59, "11:59 PM")],
)  # fmt: skip
def test_a_time_of_day_reads_as_in_us_english(hour, minute, text):
    assert formatting.time_of_day(datetime(2026, 1, 2, hour, minute)) == text


def test_times_of_day_are_in_the_site_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    moment = datetime(2026, 1, 2, 20, 0, tzinfo=UTC)

    assert formatting.local_clock(moment) == "1:30 AM"
    assert formatting.month_year(moment) == "January 2026"


def test_ago_says_how_long_ago_in_one_unit():
    now = datetime(2026, 1, 2, 20, 0, tzinfo=UTC)

    assert formatting.ago(now - timedelta(seconds=20), now) == "just now"
    assert formatting.ago(now - timedelta(hours=3, minutes=5), now) == "3\xa0hours ago"


@pytest.mark.parametrize(
    ("name", "text"),
    [("Alex Rivera", "AR"), ("sean", "S"), ("Jean Luc Picard", "JP"), ("  ", "?")],
)
def test_initials_stand_in_for_a_missing_avatar(name, text):
    assert formatting.initials(name) == text
