"""The client's history, ratings and last-activities calls, answered by `responses` with
Trakt-shaped fixtures."""

import json
from datetime import UTC, datetime

import pytest

from profile.client import TraktAuth, UpstreamError, trakt
from profile.client.http import MAX_BODY_BYTES
from tests.upstream import TRAKT, fixture

HISTORY = f"{TRAKT}/users/sean/history"
PAGES = {
    "X-Pagination-Page": "2",
    "X-Pagination-Limit": "250",
    "X-Pagination-Page-Count": "9",
    "X-Pagination-Item-Count": "2103",
}


@pytest.fixture
def auth(settings):
    return TraktAuth(settings.TRAKT_API_KEY)


def test_a_history_page_asks_for_250_full_items_and_reads_them(mock, auth):
    mock.get(HISTORY, json=fixture("trakt_user_history_extended.json"), headers=PAGES)
    end = datetime(2014, 10, 24, 12, 0, 0, 123000, tzinfo=UTC)

    page = trakt.history_page(auth, "sean", page=2, end_at=end)

    query = mock.calls[0].request.params
    assert query == {
        "extended": "full",
        "page": "2",
        "limit": "250",
        "end_at": "2014-10-24T12:00:00.123Z",
    }
    assert (page.pagination.page, page.pagination.page_count) == (2, 9)
    assert page.pagination.item_count == 2103
    episode, movie = page.items
    assert (episode.id, episode.action, episode.episode.runtime) == (1982347, "scrobble", 58)
    assert episode.show.genres == ("drama", "thriller", "crime")
    assert (episode.show.rating, episode.show.votes) == (9.2671, 43582)
    assert movie.action == "checkin" and movie.movie.runtime == 152
    # Only well-formed genre slugs, each once; "" and null ids are no ids.
    assert movie.movie.genres == ("action", "crime", "drama")
    assert (movie.movie.ids.imdb, movie.movie.ids.tmdb) == (None, None)


def test_an_unreadable_item_costs_that_item_not_the_page(mock, auth):
    mock.get(HISTORY, json=fixture("trakt_user_history_extended.json"), headers=PAGES)

    page = trakt.history_page(auth, "sean", page=1)

    assert len(page.items) == 2 and page.skipped == 1


@pytest.mark.parametrize("body", [{"items": []}, "text", 5])
def test_a_page_that_is_not_a_list_is_a_bad_response(mock, auth, body):
    mock.get(HISTORY, json=body)

    with pytest.raises(UpstreamError) as error:
        trakt.history_page(auth, "sean", page=1)

    assert error.value.code == "bad_response"


def test_missing_pagination_headers_are_none(mock, auth):
    mock.get(HISTORY, json=[], headers={"X-Pagination-Page-Count": "lots"})

    page = trakt.history_page(auth, "sean", page=1, start_at=datetime(2024, 1, 1, tzinfo=UTC))

    assert page.items == [] and page.pagination.page_count is None
    assert mock.calls[0].request.params["start_at"] == "2024-01-01T00:00:00.000Z"


def test_a_429_says_how_long_to_wait(mock, auth):
    mock.get(HISTORY, status=429, headers={"Retry-After": "7"})

    with pytest.raises(UpstreamError) as error:
        trakt.history_page(auth, "sean", page=1)

    assert (error.value.code, error.value.retry_after, error.value.status) == (
        "rate_limited",
        7,
        429,
    )


def test_a_page_larger_than_other_answers_may_be_is_read(mock, auth):
    item = fixture("trakt_user_history_extended.json")[0]
    item["show"]["overview"] = "A long overview. " * 300
    body = json.dumps([item | {"id": n} for n in range(250)])
    assert len(body) > MAX_BODY_BYTES
    mock.get(HISTORY, body=body, headers=PAGES, content_type="application/json")

    page = trakt.history_page(auth, "sean", page=1)

    assert len(page.items) == 250


def test_ratings_are_read_and_a_rating_out_of_range_is_dropped(mock, auth):
    mock.get(f"{TRAKT}/users/sean/ratings/movies", json=fixture("trakt_user_ratings_movies.json"))

    page = trakt.ratings_page(auth, "sean", "movies", page=1)

    assert [(r.rating, r.movie.title) for r in page.items] == [(10, "Batman Begins")]
    assert page.skipped == 1
    assert mock.calls[0].request.params == {"extended": "full", "page": "1", "limit": "250"}


def test_ratings_of_an_unknown_kind_are_never_asked_for(auth):
    with pytest.raises(ValueError):
        trakt.ratings_page(auth, "sean", "../../oauth", page=1)


def test_last_activities_needs_the_owners_token(mock, settings):
    mock.get(f"{TRAKT}/sync/last_activities", json=fixture("trakt_sync_last_activities.json"))

    with pytest.raises(ValueError):
        trakt.last_activities(TraktAuth(settings.TRAKT_API_KEY))
    activities = trakt.last_activities(TraktAuth(settings.TRAKT_API_KEY, "a-token"))

    assert mock.calls[0].request.headers["Authorization"] == "Bearer a-token"
    assert activities.history_mark() == ("2014-11-19T21:42:41.000Z", "2014-11-20T06:51:30.000Z")
    assert activities.ratings_mark() == (
        "2014-11-19T18:32:29.000Z",
        "2014-11-19T19:50:58.000Z",
        "2014-11-20T06:51:30.000Z",
    )
