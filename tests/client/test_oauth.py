"""Trakt's OAuth endpoints through the one chokepoint: what each status means, and bodies
checked at the boundary (Trakt's official samples, and hostile ones)."""

import json
import logging

import pytest
import requests

from profile.client import UpstreamError, oauth
from profile.client.oauth import App
from tests.upstream import fixture

AUTH = "https://auth.trakt.tv"
APP = App("client-id-0123456789", "client-SECRET-must-never-leak-0c1d")
REFRESH = "refresh-TOKEN-must-never-leak-0123456789"


@pytest.fixture
def auth_host(mock, settings):
    settings.TRAKT_AUTH_URL = AUTH
    return mock


def sent(mock, index=-1) -> dict:
    return json.loads(mock.calls[index].request.body)


def test_the_device_code_is_asked_of_the_auth_host_with_the_client_id(auth_host):
    auth_host.post(f"{AUTH}/oauth/device/code", json=fixture("trakt_oauth_device_code.json"))

    code = oauth.device_code(APP.client_id)

    assert code.user_code == "5055CC52"
    assert code.verification_url == "https://trakt.tv/activate"
    assert (code.expires_in, code.interval) == (600, 5)
    assert sent(auth_host) == {"client_id": APP.client_id}
    request = auth_host.calls[0].request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("nowwatching/")


def test_the_auth_host_is_the_setting_not_the_api_host(auth_host, settings):
    settings.TRAKT_AUTH_URL = "https://api.trakt.tv"  # the old host, for an old deployment
    auth_host.post(
        "https://api.trakt.tv/oauth/device/code", json=fixture("trakt_oauth_device_code.json")
    )

    assert oauth.device_code(APP.client_id).user_code == "5055CC52"


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        (400, "pending"),
        (404, "invalid"),
        (409, "used"),
        (410, "expired"),
        (418, "denied"),
        (429, "slow_down"),
    ],
)
def test_each_device_poll_status_has_its_meaning_whatever_the_body(auth_host, status, meaning):
    # Trakt's 400 has no usable body: it must not be parsed.
    auth_host.post(f"{AUTH}/oauth/device/token", status=status, body="<html>{not json")

    poll = oauth.poll_device_token(APP, "device-code-0123456789abcdef")

    assert (poll.status, poll.tokens) == (meaning, None)
    assert sent(auth_host) == {
        "code": "device-code-0123456789abcdef",
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
    }


def test_an_approved_device_poll_gives_the_pair_and_its_expiry_from_created_at(auth_host):
    auth_host.post(f"{AUTH}/oauth/device/token", json=fixture("trakt_oauth_token.json"))

    poll = oauth.poll_device_token(APP, "device-code-0123456789abcdef")

    assert poll.status == "approved"
    assert poll.tokens.access_token.startswith("dbaf9757")
    # created_at 1487889741 + expires_in 86400, never a fixed lifetime.
    assert poll.tokens.expires_at.timestamp() == 1487889741 + 86400


def test_a_refresh_sends_the_refresh_grant_and_gives_the_new_pair(auth_host):
    auth_host.post(f"{AUTH}/oauth/token", json=fixture("trakt_oauth_token.json"))

    pair = oauth.refresh(APP, REFRESH)

    assert pair.refresh_token.startswith("76ba4c5c")
    assert sent(auth_host) == {
        "refresh_token": REFRESH,
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        "grant_type": "refresh_token",
    }


@pytest.mark.parametrize("status", [400, 401])
def test_invalid_grant_with_400_or_401_means_signed_out(auth_host, status):
    auth_host.post(
        f"{AUTH}/oauth/token", status=status, json=fixture("trakt_oauth_token_error_401.json")
    )

    with pytest.raises(UpstreamError) as refused:
        oauth.refresh(APP, REFRESH)

    assert refused.value.code == "signed_out"
    assert "manage.py trakt_login" in refused.value.message
    assert refused.value.http_status == 502


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ({"status": 401, "json": {"error": "invalid_client"}}, "unauthorized"),
        ({"status": 401, "body": ""}, "unauthorized"),
        ({"status": 400, "json": {"error": "invalid_request"}}, "bad_response"),
        ({"status": 403, "body": "<html>Forbidden</html>"}, "forbidden"),
        ({"status": 429, "headers": {"Retry-After": "7"}}, "rate_limited"),
        ({"status": 500}, "unavailable"),
        ({"status": 503}, "unavailable"),
        ({"status": 302, "headers": {"Location": "https://trakt.tv/"}}, "bad_response"),
        ({"body": requests.ReadTimeout("slow")}, "timeout"),
        ({"body": requests.ConnectionError("refused")}, "unavailable"),
    ],
)
def test_other_refusals_and_failures_are_not_a_sign_out(auth_host, reply, code):
    # Only invalid_grant ends the sign-in: a passing failure must never throw it away.
    auth_host.post(f"{AUTH}/oauth/token", **reply)

    with pytest.raises(UpstreamError) as failed:
        oauth.refresh(APP, REFRESH)

    assert failed.value.code == code


@pytest.mark.parametrize(
    "change",
    [
        {"access_token": "dbaf9757 982a9e738f05d249b7b5b4a266b3a139"},  # a space
        {"access_token": "dbaf9757982a9e738f05\r\nX-Evil: 1"},  # a header injection
        {"access_token": ""},
        {"access_token": 12345678901234567890},
        {"refresh_token": None},
        {"token_type": "mac"},
        {"expires_in": -1},
        {"expires_in": "soon"},
        {"created_at": 99999999999999},
        {"created_at": None},
    ],
)
def test_a_token_answer_of_a_bad_shape_is_refused_at_the_boundary(auth_host, change):
    auth_host.post(f"{AUTH}/oauth/token", json=fixture("trakt_oauth_token.json") | change)

    with pytest.raises(UpstreamError) as refused:
        oauth.refresh(APP, REFRESH)

    assert refused.value.code == "bad_response"


@pytest.mark.parametrize(
    "change",
    [
        {"verification_url": "javascript:alert(1)"},
        {"user_code": "5055 CC52\x1b[2J"},  # terminal escapes
        {"expires_in": 0},
        {"device_code": "short"},
    ],
)
def test_a_device_code_of_a_bad_shape_is_refused(auth_host, change):
    auth_host.post(
        f"{AUTH}/oauth/device/code", json=fixture("trakt_oauth_device_code.json") | change
    )

    with pytest.raises(UpstreamError) as refused:
        oauth.device_code(APP.client_id)

    assert refused.value.code == "bad_response"


def test_an_odd_interval_is_dropped_not_fatal(auth_host):
    body = fixture("trakt_oauth_device_code.json") | {"interval": -3}
    auth_host.post(f"{AUTH}/oauth/device/code", json=body)

    assert oauth.device_code(APP.client_id).interval is None


def test_a_huge_answer_is_refused(auth_host):
    auth_host.post(f"{AUTH}/oauth/token", body="x" * 200_000)

    with pytest.raises(UpstreamError) as refused:
        oauth.refresh(APP, REFRESH)

    assert refused.value.code == "bad_response"


def test_revoke_sends_the_token_with_the_apps_credentials(auth_host):
    auth_host.post(f"{AUTH}/oauth/revoke", json={})

    oauth.revoke(APP, "access-token-0123456789abcdef")

    assert sent(auth_host) == {
        "token": "access-token-0123456789abcdef",
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
    }


def test_no_token_or_secret_is_logged_or_shown_whatever_fails(auth_host, caplog):
    body = fixture("trakt_oauth_token_error_401.json") | {"echo": REFRESH + APP.client_secret}
    auth_host.post(f"{AUTH}/oauth/token", status=401, json=body)
    auth_host.post(f"{AUTH}/oauth/revoke", status=500, body=REFRESH)

    with caplog.at_level(logging.DEBUG, logger="profile"):
        with pytest.raises(UpstreamError) as first:
            oauth.refresh(APP, REFRESH)
        with pytest.raises(UpstreamError) as second:
            oauth.revoke(APP, REFRESH)

    shown = caplog.text + repr(APP) + str(first.value.as_json()) + str(second.value.as_json())
    assert REFRESH not in shown
    assert APP.client_secret not in shown
    assert "Trakt token refresh failed: HTTP 401" in caplog.text


def test_a_test_without_a_database_mark_still_gets_the_test_database_not_the_real_one():
    # Every Trakt call reads the stored sign-in, so conftest's `database` fixture gives every
    # test the database; it must be the throwaway one, never the project's db.sqlite3.
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    assert "test" in name
    assert not name.endswith("/db.sqlite3")
