"""The owner's sign-in kept here: encrypted at rest, renewed on time and after a 401, by
exactly one caller, and given up (`signed_out`) only when Trakt refuses it.

Against the loopback fake Trakt and its auth host (`FakeTokens`: single-use refresh tokens
it really retires, expiry on this process's clock), on SQLite and on PostgreSQL.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.db import connections
from django.utils import timezone

from profile.client.oauth import App
from profile.models import TraktToken
from profile.signin import credentials, renewal, sealing
from tests.contract import assert_matches_openapi
from tests.fake_upstream import TRAKT_SECRET
from tests.signin import DAY, raw_database_text, sign_in, stored

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake(reset_fake):
    # A private profile: only the owner's token sees anything, so a call made without it shows.
    reset_fake.set(private_user=True)
    return reset_fake


def clear_caches():
    for each in caches.all():
        each.clear()


def refreshes(fake) -> int:
    return fake.calls("auth:/oauth/token")


# --- Using the stored sign-in -------------------------------------------------------------------


def test_a_stored_sign_in_is_used_for_the_owners_me_paths(client, fake):
    sign_in(fake)

    response = client.get("/api/watching")

    assert response.status_code == 200
    assert response.json()["content"]["title"] == "Super 8"
    assert fake.call_log()["trakt:/users/me/watching"] == 1
    assert refreshes(fake) == 0


def test_the_stored_sign_in_comes_before_trakt_access_token_and_the_public_profile(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "environment-token-0123456789"
    assert credentials.credentials().source == "environment"

    pair = sign_in(fake)
    used = credentials.credentials()

    assert (used.source, used.user, used.auth.access_token) == (
        "signed_in",
        "me",
        pair["access_token"],
    )
    settings.TRAKT_ACCESS_TOKEN = ""
    TraktToken.objects.all().delete()
    assert (credentials.credentials().source, credentials.credentials().user) == ("public", "sean")


def test_without_a_username_or_a_token_it_is_not_configured(client, fake, settings):
    settings.TRAKT_USERNAME = ""

    body = client.get("/api/watching").json()

    assert body["error"]["code"] == "not_configured"
    assert "trakt_login" in body["error"]["message"]


def test_credentials_never_show_their_token_in_a_repr(fake):
    pair = sign_in(fake)

    used = credentials.credentials()
    shown = repr(used) + repr(used.auth) + repr(App("id", TRAKT_SECRET))

    assert pair["access_token"] not in shown
    assert TRAKT_SECRET not in shown


# --- Encryption at rest -------------------------------------------------------------------------


def test_the_tokens_are_encrypted_at_rest_and_the_client_secret_is_never_stored(client, fake):
    first = sign_in(fake, issued_ago=6.5 * DAY)
    assert client.get("/api/watching").status_code == 200  # renewed: a second pair is stored
    row = stored()
    assert row.generation == 2

    raw = raw_database_text()

    assert "profile_trakttoken" in raw or "sean" in raw  # we did read the real storage
    for secret in (*_tokens_of(first), *fake.tokens.secrets_issued(), TRAKT_SECRET):
        assert secret not in raw
    assert sealing.unseal(row.refresh_token_encrypted) in fake.tokens.refresh_live


def test_a_changed_secret_key_signs_out_with_a_clear_message_once(client, fake, settings, caplog):
    sign_in(fake)
    settings.SECRET_KEY = "a-new-secret-key-after-a-leak-0123456789"

    with caplog.at_level(logging.INFO, logger="profile"):
        first = client.get("/api/watching")
        clear_caches()
        second = client.get("/api/watching")

    assert first.json()["error"]["code"] == second.json()["error"]["code"] == "signed_out"
    assert "SECRET_KEY" in stored().last_error
    assert caplog.text.count("cannot be decrypted") == 1
    # What is left is the public profile, which the private profile refuses: signed_out.
    assert fake.calls("trakt:/users/me") == 0
    assert fake.calls("trakt:/users/sean/watching") == 2


def test_an_old_secret_key_in_the_fallbacks_still_decrypts(fake, settings):
    pair = sign_in(fake)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-rotated-secret-key-0123456789"

    assert credentials.credentials().auth.access_token == pair["access_token"]


# --- Renewal before expiry ----------------------------------------------------------------------


def test_a_token_with_less_than_a_day_left_is_renewed_before_it_is_used(client, fake, caplog):
    old = sign_in(fake, issued_ago=6.5 * DAY)

    with caplog.at_level(logging.INFO, logger="profile"):
        response = client.get("/api/watching")

    assert response.status_code == 200
    assert refreshes(fake) == 1
    row = stored()
    assert row.generation == 2
    assert row.renewed_at is not None
    new_access = sealing.unseal(row.access_token_encrypted)
    assert new_access != old["access_token"]
    # From the answer's created_at + expires_in (the fake's 7 days), not a fixed period.
    assert abs((row.expires_at - timezone.now()) - timedelta(days=7)) < timedelta(minutes=1)
    assert fake.tokens.refresh_uses[old["refresh_token"]] == 1
    assert "Renewed the Trakt sign-in of @sean" in caplog.text
    for secret in (*_tokens_of(old), new_access):
        assert secret not in caplog.text


def test_a_token_with_more_than_a_day_left_is_not_renewed(client, fake):
    sign_in(fake, issued_ago=5.9 * DAY)

    assert client.get("/api/watching").status_code == 200
    assert refreshes(fake) == 0


@pytest.mark.parametrize(("age_hours", "renewed"), [(17, False), (19, True)])
def test_a_24_hour_token_is_renewed_at_three_quarters_of_its_life(fake, age_hours, renewed):
    # Trakt's tokens lasted 24 h for a while: "less than a day left" would renew at every call.
    fake.set(expires_in=24 * 3600)
    sign_in(fake, issued_ago=timedelta(hours=age_hours))

    credentials.credentials()

    assert refreshes(fake) == (1 if renewed else 0)


def test_an_expired_token_is_renewed_before_anything_is_asked_with_it(client, fake):
    sign_in(fake, issued_ago=30 * DAY)

    assert client.get("/api/watching").status_code == 200
    assert refreshes(fake) == 1
    assert fake.tokens.refused_calls == 0  # Trakt never saw the expired token


def test_a_renewed_token_dated_far_in_the_past_is_not_renewed_at_every_call(client, fake, caplog):
    sign_in(fake, issued_ago=6.5 * DAY)
    fake.set(clock_behind=(6 * DAY).total_seconds())  # Trakt's clock six days behind ours

    for _ in range(3):
        clear_caches()
        assert client.get("/api/watching").status_code == 200

    assert refreshes(fake) == 1
    assert "its lifetime is counted from now" in caplog.text
    assert stored().expires_at - timezone.now() > 6 * DAY


# --- Renewal after a 401 ------------------------------------------------------------------------


def test_a_401_to_the_token_renews_it_once_and_retries_the_call_once(client, fake):
    pair = sign_in(fake, issued_ago=2 * DAY)
    fake.tokens.revoked.add(pair["access_token"])  # refused early, say by a Trakt migration

    response = client.get("/api/watching")

    assert response.status_code == 200
    assert refreshes(fake) == 1
    assert fake.call_log()["trakt:/users/me/watching"] == 2
    assert stored().generation == 2


def test_a_401_to_a_token_issued_a_moment_ago_is_not_renewed_in_a_loop(client, fake):
    pair = sign_in(fake)
    fake.tokens.revoked.add(pair["access_token"])

    body = client.get("/api/watching").json()

    assert body["error"]["code"] == "unauthorized"
    assert refreshes(fake) == 0


def test_a_401_after_the_renewal_too_is_an_error_not_a_loop(client, fake):
    sign_in(fake, issued_ago=2 * DAY)
    fake.set(trakt_fault="401")

    body = client.get("/api/watching").json()

    assert body["error"]["code"] == "unauthorized"
    assert refreshes(fake) == 1
    assert fake.calls("trakt:/users/me/watching") == 2


# --- Signed out ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["invalid_grant", "invalid_grant_400"])
def test_a_refused_renewal_signs_out_logs_once_and_stops_calling_trakt_with_the_token(
    client, fake, caplog, fault
):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault=fault)

    with caplog.at_level(logging.INFO):
        answers = []
        for path in ["/api/watching", "/api/profile", "/api/stats", "/api/watching"]:
            clear_caches()
            answers.append(client.get(path))

    for response, path in zip(
        answers, ["/api/watching", "/api/profile", "/api/stats"], strict=False
    ):
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "signed_out"
        assert "manage.py trakt_login" in response.json()["error"]["message"]
        assert_matches_openapi(response, path)
    assert refreshes(fake) == 1
    assert fake.tokens.refused_calls == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "must sign in again with `manage.py trakt_login`" in errors[0].getMessage()
    assert stored().signed_out_at is not None


def test_the_signed_out_example_in_the_document_is_the_real_answer(client, fake):
    from profile.api.openapi import openapi_document

    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")

    body = client.get("/api/watching").json()

    examples = openapi_document()["paths"]["/api/watching"]["get"]["responses"]["502"]
    assert examples["content"]["application/json"]["examples"]["signed_out"]["value"] == body


def test_signed_out_the_page_shows_a_quiet_note_and_what_is_public_still_works(client, fake):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant", private_user=False)

    watching = client.get("/api/watching")
    page = client.get("/")

    assert watching.status_code == 200  # the public profile's /users/sean/watching
    assert fake.calls("trakt:/users/sean/watching") == 1
    assert page.status_code == 200
    assert b"signed-out-note" in page.content
    assert b"sign-in with Trakt has ended" in page.content


def test_a_warm_page_view_asks_the_database_nothing(client, fake, django_assert_num_queries):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")
    assert b"signed-out-note" in client.get("/").content

    with django_assert_num_queries(0):
        assert b"signed-out-note" in client.get("/").content


def test_signed_in_the_page_has_no_note(client, fake):
    sign_in(fake)

    assert b"signed-out-note" not in client.get("/").content


def test_signing_in_again_after_a_sign_out_works_at_once(client, fake):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")
    assert client.get("/api/watching").status_code == 502

    fake.set(refresh_fault=None)
    sign_in(fake)
    clear_caches()

    assert client.get("/api/watching").status_code == 200
    assert stored().signed_out_at is None


# --- Renewal that fails for a passing reason -----------------------------------------------------


def test_a_passing_renewal_failure_keeps_the_valid_token_and_tries_again_later(client, fake):
    sign_in(fake, issued_ago=6.5 * DAY)
    fake.set(refresh_fault="500")

    assert client.get("/api/watching").status_code == 200  # the old token, still valid
    row = stored()
    assert "unavailable" in row.last_error
    assert row.next_renewal_at > timezone.now()
    clear_caches()
    assert client.get("/api/watching").status_code == 200
    assert refreshes(fake) == 1  # not again before the back-off ends

    fake.set(refresh_fault=None)
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        clear_caches()
        assert client.get("/api/watching").status_code == 200
    assert refreshes(fake) == 2
    assert (stored().generation, stored().last_error) == (2, "")


def test_an_expired_token_whose_renewal_fails_is_a_clear_error_not_a_500(client, fake):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="500")

    response = client.get("/api/watching")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unavailable"
    assert fake.tokens.refused_calls == 0


def test_without_the_client_secret_the_token_is_used_until_it_expires(
    client, fake, settings, caplog
):
    settings.TRAKT_CLIENT_SECRET = ""
    sign_in(fake, issued_ago=6.5 * DAY)

    with caplog.at_level(logging.WARNING, logger="profile"):
        assert client.get("/api/watching").status_code == 200
    assert "TRAKT_CLIENT_SECRET is not set" in caplog.text

    with time_machine.travel(timezone.now() + DAY, tick=False):
        clear_caches()
        body = client.get("/api/watching").json()
    assert body["error"]["code"] == "not_configured"
    assert "TRAKT_CLIENT_SECRET" in body["error"]["message"]
    assert refreshes(fake) == 0


# --- Exactly one renewer ------------------------------------------------------------------------

CALLERS = 60


@pytest.mark.parametrize("issued_ago", [6.5 * DAY, 8 * DAY], ids=["expiring", "expired"])
def test_sixty_threads_that_need_a_renewal_make_one(fake, issued_ago):
    old = sign_in(fake, issued_ago=issued_ago)
    fake.set(auth_delay=0.3)  # every caller arrives while Trakt is answering the first
    start = threading.Barrier(CALLERS)

    def caller(_):
        start.wait(timeout=10)
        try:
            return credentials.credentials().auth.access_token
        finally:
            connections.close_all()

    began = time.monotonic()
    with ThreadPoolExecutor(CALLERS) as pool:
        tokens = list(pool.map(caller, range(CALLERS)))
    took = time.monotonic() - began

    assert refreshes(fake) == 1
    assert fake.tokens.reused_refresh_tokens() == []
    new = sealing.unseal(stored().access_token_encrypted)
    if issued_ago > 7 * DAY:
        assert set(tokens) == {new}  # nobody went on with the expired one
    else:
        assert set(tokens) <= {new, old["access_token"]}
    assert stored().generation == 2
    assert took < 10  # a generous bound: nobody waited on a lock until a timeout


def test_a_renewer_that_died_holds_others_up_two_seconds_at_most(client, fake):
    old = sign_in(fake, issued_ago=6.5 * DAY)
    # A renewer took the lease and died: the lease is live for another minute.
    TraktToken.objects.filter(pk=1).update(renewing_until=timezone.now() + renewal.LEASE)

    began = time.monotonic()
    used = credentials.credentials()
    waited = time.monotonic() - began

    assert used.auth.access_token == old["access_token"]  # still valid: used meanwhile
    assert renewal.WAIT_SECONDS - 0.2 <= waited < renewal.WAIT_SECONDS + 1.5
    assert refreshes(fake) == 0


def test_with_an_expired_token_and_a_dead_renewer_the_answer_is_a_quick_clear_error(client, fake):
    sign_in(fake, issued_ago=8 * DAY)
    TraktToken.objects.filter(pk=1).update(renewing_until=timezone.now() + renewal.LEASE)

    began = time.monotonic()
    response = client.get("/api/watching")

    assert time.monotonic() - began < renewal.WAIT_SECONDS + 1.5
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unavailable"
    assert response["Retry-After"] == "5"


def test_after_a_dead_renewers_lease_runs_out_the_next_caller_renews(fake):
    sign_in(fake, issued_ago=8 * DAY)
    TraktToken.objects.filter(pk=1).update(renewing_until=timezone.now() + renewal.LEASE)

    with time_machine.travel(timezone.now() + renewal.LEASE + timedelta(seconds=1), tick=False):
        assert credentials.credentials().source == "signed_in"

    assert refreshes(fake) == 1
    assert stored().generation == 2


def test_a_renewer_that_died_after_trakt_swapped_the_pair_leaves_the_site_signed_out(client, fake):
    # The documented cost of a renewer dying in the ~ms between Trakt's answer and the UPDATE.
    pair = sign_in(fake, issued_ago=8 * DAY)
    fake.tokens.answer(
        "/oauth/token",
        {
            "client_id": fake.env()["TRAKT_API_KEY"],
            "client_secret": TRAKT_SECRET,
            "grant_type": "refresh_token",
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            "refresh_token": pair["refresh_token"],
        },
    )
    TraktToken.objects.filter(pk=1).update(renewing_until=timezone.now() - timedelta(seconds=1))

    body = client.get("/api/watching").json()

    assert body["error"]["code"] == "signed_out"
    assert stored().signed_out_at is not None


def test_a_sign_out_while_renewing_revokes_the_new_pair(fake):
    sign_in(fake, issued_ago=8 * DAY)
    row = stored()
    lease = timezone.now() + renewal.LEASE
    TraktToken.objects.filter(pk=1).update(renewing_until=lease)
    TraktToken.objects.all().delete()  # `trakt_logout` meanwhile

    assert (
        renewal._exchange(row, App(fake.env()["TRAKT_API_KEY"], TRAKT_SECRET), lease, False) is None
    )

    assert refreshes(fake) == 1
    assert fake.calls("auth:/oauth/revoke") == 1
    assert not TraktToken.objects.exists()


# --- Months without anyone touching it -----------------------------------------------------------


def test_months_go_by_and_the_token_is_renewed_on_time_without_anyone_touching_it(client, fake):
    """Six months, looked at every 8 hours, with the site off for ten days in the middle."""
    start = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        sign_in(fake)
        now = start
        answers = []
        while now < start + timedelta(days=182):
            clock.move_to(now)
            clear_caches()
            answers.append(client.get("/api/watching").status_code)
            row = stored()
            assert row.expires_at > now, f"an expired token was kept at {now}"
            now += (
                timedelta(days=10)
                if now.date() == datetime(2027, 3, 1).date()
                else timedelta(hours=8)
            )

    assert set(answers) == {200}
    # A 7-day token renewed with a day left: one renewal every 6 days (plus the gap's).
    assert 28 <= refreshes(fake) <= 32
    assert stored().generation == refreshes(fake) + 1
    assert fake.tokens.reused_refresh_tokens() == []
    assert fake.tokens.refused_calls == 0  # Trakt never saw an expired or retired token


def _tokens_of(pair: dict) -> tuple[str, str]:
    return pair["access_token"], pair["refresh_token"]
