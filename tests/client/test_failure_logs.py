"""An upstream that cannot be reached is logged with its host and the setting to check:
never a key, a path or a query string."""

import logging

import pytest
import responses

from profile.client import TmdbAuth, TraktAuth, UpstreamError, tmdb, trakt
from tests.conftest import TMDB_KEY, TRAKT_KEY, TRAKT_TOKEN
from tests.servers import free_port
from tests.upstream import WATCHING_URL


def failure_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "failed" in record.getMessage()]


def test_an_unreachable_trakt_is_logged_with_its_host_and_setting(settings, caplog):
    port = free_port()  # nothing listens there
    settings.TRAKT_API_URL = f"http://user:pass@127.0.0.1:{port}/base?x=1"

    with pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        trakt.watching(TraktAuth(TRAKT_KEY, TRAKT_TOKEN), "sean")

    [line] = failure_lines(caplog)
    assert f"127.0.0.1:{port}" in line
    assert "TRAKT_API_URL" in line
    for hidden in (TRAKT_KEY, TRAKT_TOKEN, "user", "pass", "/base", "x=1", "/users"):
        assert hidden not in line


def test_an_unreachable_tmdb_is_logged_with_its_host_and_setting(settings, caplog):
    port = free_port()
    settings.TMDB_API_URL = f"http://127.0.0.1:{port}/3"

    with pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        tmdb.images(TmdbAuth(api_key=TMDB_KEY), "movie", 603)

    [line] = failure_lines(caplog)
    assert f"127.0.0.1:{port}" in line
    assert "TMDB_API_URL" in line
    for hidden in (TMDB_KEY, "api_key", "?", "/movie"):
        assert hidden not in line


def test_an_unreachable_image_host_names_its_setting(settings, caplog):
    port = free_port()
    settings.TMDB_IMAGE_URL = f"http://127.0.0.1:{port}/t/p"

    with pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        tmdb.image(tmdb.image_url("w300", "/backdrop.jpg"))

    [line] = failure_lines(caplog)
    assert f"127.0.0.1:{port}" in line
    assert "TMDB_IMAGE_URL" in line


def test_an_ipv6_host_is_logged_in_brackets(settings, caplog):
    port = free_port()
    settings.TRAKT_API_URL = f"http://[::1]:{port}"

    with pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        trakt.watching(TraktAuth(TRAKT_KEY), "sean")

    [line] = failure_lines(caplog)
    assert f"at [::1]:{port}; check TRAKT_API_URL" in line


def test_an_upstream_that_answers_is_logged_with_its_host_but_no_hint(caplog, mock):
    # Trakt was reached: its 500 is Trakt's trouble, not a wrong address.
    mock.get(WATCHING_URL, status=500)

    with pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        trakt.watching(TraktAuth(TRAKT_KEY), "sean")

    [line] = failure_lines(caplog)
    assert "unavailable (HTTP 500)" in line
    assert "api.trakt.tv" in line
    assert "TRAKT_API_URL" not in line


def test_a_missing_tmdb_key_names_no_host(settings, caplog):
    settings.TMDB_API_KEY = ""

    with responses.RequestsMock(), pytest.raises(UpstreamError), caplog.at_level(logging.INFO):
        tmdb.images(TmdbAuth(), "movie", 603)

    [line] = failure_lines(caplog)
    assert "not_configured" in line
    assert "api.themoviedb.org" not in line
