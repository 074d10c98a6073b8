"""The field types of profile/client/schemas.py, each on its own: what passes is safe for
everything downstream, what does not is dropped (Opt...), defaulted (or_default), left out
(ValidItems) or makes the body bad_response (required).

Every model of an upstream body is built from these, so these cases hold for all of them.
"""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from profile.client.http import Reply, decode_json
from profile.client.schemas import (
    MAX_INT,
    MAX_TEXT,
    Count,
    Id,
    OptId,
    OptImdb,
    OptSlug,
    OptText,
    OptTime,
    OptYear,
    Score,
    Text,
    Time,
    TmdbImage,
    TraktProfile,
    ValidItems,
    or_default,
    parse_time,
)


class One(BaseModel):
    text: Text = ""
    opt_text: OptText = None
    time: Time = "2026-01-01T00:00:00Z"
    opt_time: OptTime = None
    id: Id = 0
    opt_id: OptId = None
    count: Count = 0
    year: OptYear = None
    slug: OptSlug = None
    imdb: OptImdb = None
    score: Score = 0.0
    images: ValidItems[TmdbImage] = []


def decoded(raw: bytes):
    return decode_json("trakt", Reply(200, {}, raw))


# --- Time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1900-01-01T00:00:00Z",
        "2199-12-31T23:59:59.999999999Z",  # nanoseconds: Trakt's form is milliseconds
        "2026-11-23T21:07:00.000Z",
        "2026-11-23T23:07:00+02:00",
    ],
)
def test_a_zoned_rfc3339_time_within_the_range_passes_as_sent(value):
    assert One(time=value).time == value
    moment = parse_time(value)
    assert moment.tzinfo is not None
    # Anything downstream does with two such times (and now) stays within Python's range.
    far = parse_time("2199-12-31T23:59:59Z") - parse_time("1900-01-01T00:00:00Z")
    assert (moment + far).year < 10000 and (moment - far).year > 0
    assert moment.astimezone(UTC).year in range(1900, 2200)


@pytest.mark.parametrize(
    "value",
    [
        "1899-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "1900-01-01T00:00:00+00:01",  # 1899 in UTC
        "9999-12-31T23:59:59-23:59",  # past year 9999 in UTC: an OverflowError, not raised
        "0001-01-01T00:00:00+00:01",
        "2026-01-01T10:00:00",  # no zone
        "20260101T100000Z",  # ISO 8601, but no browser parses it
        "2026-01-01 10:00:00+00:00",
        "2026-W01-1T10:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:60Z",
        "yesterday",
        "",
        "2026-01-01T00:00:00Z" + " " * 100,
    ],
)
def test_any_other_time_fails_or_is_dropped(value):
    with pytest.raises(ValidationError):
        One(time=value)
    assert One(opt_time=value).opt_time is None


def test_a_time_that_is_not_a_string_fails():
    for value in (1700000000, None, ["2026-01-01T00:00:00Z"], {"at": 1}):
        with pytest.raises(ValidationError):
            One(time=value)
        assert One(opt_time=value).opt_time is None


# --- Text -----------------------------------------------------------------------------------


def test_text_loses_control_characters_and_is_cut_to_length():
    assert One(text="a\x00b\x07c\x1b[2Jd\tе\n").text == "abc[2Jd\tе\n"
    long = One(text="Ω" * 100_000).text
    assert len(long) == MAX_TEXT and long.endswith("…")
    assert One(text="").text == ""  # may be empty: callers use `title or fallback`


@pytest.mark.parametrize(
    "raw",
    [rb'{"opt_text": "\ud800"}', rb'{"opt_text": "x\udfffy"}', rb'{"opt_text": "\ud800\ud800"}',
     rb'{"opt_text": "\uffff"}', rb'{"opt_text": "\ufffe"}'],
)  # fmt: skip
def test_a_string_no_page_can_encode_is_dropped_not_the_whole_body(raw):
    one = One.model_validate(decoded(raw))

    assert one.opt_text is None


def test_a_valid_surrogate_pair_and_an_escaped_backslash_survive_decoding():
    one = One.model_validate(decoded(rb'{"opt_text": "\ud83c\udfac and \\ud800"}'))

    assert one.opt_text == "🎬 and \\ud800"


def test_a_lone_surrogate_in_a_python_string_is_refused_too():
    # From anywhere but the decoder (demo data, the database): the same rule.
    assert One(opt_text="a\ud800b").opt_text is None


# --- Numbers --------------------------------------------------------------------------------


def test_ids_and_counts_are_whole_numbers_up_to_2_53():
    assert One(id=MAX_INT, count=MAX_INT).id == MAX_INT
    for bad in (MAX_INT + 1, -1, 2**64, 1.5, "many", None, float("nan")):
        with pytest.raises(ValidationError):
            One(id=bad)
        assert One(opt_id=bad).opt_id is None


@pytest.mark.parametrize("slug", ["_captain", "__", "_", "a", "9-to-5", "the.end_", "x" * 200])
def test_every_slug_trakt_makes_passes(slug):
    assert One(slug=slug).slug == slug
    profile = TraktProfile.model_validate({"username": slug, "ids": {"slug": slug}})
    assert profile.ids.slug == slug


@pytest.mark.parametrize(
    "slug", [".", "..", ".hidden", "-x", "a/b", "a b", "a?b", "a#b", "a%2Fb", "é", "x" * 201, ""]
)
def test_a_slug_that_could_break_a_url_or_a_path_is_dropped(slug):
    assert One(slug=slug).slug is None
    profile = TraktProfile.model_validate({"username": "sean", "ids": {"slug": slug}})
    assert profile.ids.slug is None


def test_a_profile_may_come_without_a_slug():
    for ids in ({"slug": None}, {}, {"trakt": 7}):
        assert TraktProfile.model_validate({"username": "sean", "ids": ids}).ids.slug is None


def test_years_scores_slugs_and_imdb_ids_are_checked():
    assert One(year=2011).year == 2011
    assert One(year=99999).year is None and One(year="2011x").year is None
    assert One(score=9.5).score == 9.5
    for bad in (10.5, -1, float("inf"), float("nan")):
        with pytest.raises(ValidationError):
            One(score=bad)
    assert One(slug="super-8-2011").slug == "super-8-2011"
    assert One(slug="../../etc").slug is None and One(slug="").slug is None
    assert One(imdb="tt1650062").imdb == "tt1650062"
    assert One(imdb="").imdb is None and One(imdb="javascript:x").imdb is None


def test_huge_numbers_from_json_are_refused_without_overflow():
    one = One.model_validate(decoded(b'{"opt_id": 1' + b"0" * 400 + b', "year": 1e999}'))

    assert one.opt_id is None and one.year is None


# --- Lists and defaults ---------------------------------------------------------------------


def test_an_odd_item_of_a_list_costs_that_item_only():
    images = One(
        images=[
            {"file_path": "/good.jpg"},
            {"file_path": "/../../etc/passwd"},
            {"file_path": None},
            "not an image",
            {"file_path": "/also-good.png", "width": 2**70, "vote_average": "high"},
        ]
    ).images

    assert [image.file_path for image in images] == ["/good.jpg", "/also-good.png"]
    assert images[1].width == 0 and images[1].vote_average == 0.0  # odd values defaulted
    with pytest.raises(ValidationError):
        One(images={"file_path": "/x.jpg"})  # not a list at all: the field itself fails


def test_or_default_puts_the_default_in_place_of_an_odd_value():
    from typing import Annotated

    class Counted(BaseModel):
        plays: Annotated[Count, or_default(0)] = 0

    assert Counted(plays=12).plays == 12
    assert Counted(plays=-3).plays == 0 and Counted(plays="x").plays == 0


# --- A whole model ------------------------------------------------------------------------------


def test_an_avatar_that_is_not_an_http_address_is_not_shown():
    def profile(url):
        body = {"username": "sean", "ids": {"slug": "sean"}, "images": {"avatar": {"full": url}}}
        return TraktProfile.model_validate(body).avatar_url

    assert profile("https://walter.trakt.tv/a.jpg") == "https://walter.trakt.tv/a.jpg"
    assert profile("/static/demo/avatar.svg") == "/static/demo/avatar.svg"
    for url in ("javascript:alert(1)", "//evil.example/a.jpg", "data:image/png;base64,xx", ""):
        assert profile(url) is None


def test_the_far_ends_of_the_range_format_on_the_page():
    from profile import formatting

    for value in ("1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z"):
        moment = parse_time(value)
        assert formatting.local_clock(moment) and formatting.month_year(moment)
        assert formatting.ago(moment, datetime(2026, 1, 1, tzinfo=UTC))
    assert formatting.watch_time(MAX_INT) and formatting.grouped(MAX_INT * 2)
    assert formatting.time_left(timedelta(days=300 * 365).total_seconds())
