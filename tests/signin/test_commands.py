"""`manage.py trakt_login`, `trakt_logout` and `trakt_status` against the fake Trakt.

The device flow's waits run on a fake clock (no test sleeps through Trakt's intervals); the
fake's `device_script` answers each poll in turn, as Trakt would.
"""

import io
import time

import pytest
import segno
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from profile.management.commands import trakt_login, trakt_status
from profile.mirror import sync
from profile.models import TraktRateLimit, TraktToken
from profile.signin import credentials, rate_limit
from tests.fake_upstream import TRAKT_SECRET
from tests.servers import free_port
from tests.signin import DAY, sign_in, stored

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake(reset_fake):
    reset_fake.set(private_user=True, device_interval=5, device_expires_in=600)
    return reset_fake


class FakeClock:
    """time.sleep and time.monotonic for the device flow: sleeping moves the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake_clock = FakeClock()
    monkeypatch.setattr(trakt_login, "time", fake_clock)
    return fake_clock


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def run(name: str, stdout=None) -> str:
    out = stdout or io.StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


def login_fails(expected: str) -> CommandError:
    with pytest.raises(CommandError, match=expected) as failed:
        run("trakt_login")
    assert failed.value.returncode != 0
    return failed.value


# --- trakt_login --------------------------------------------------------------------------------


def test_login_shows_the_code_polls_at_the_interval_slows_down_and_signs_in(fake, clock):
    fake.set(device_script=[400, 400, 429, 400, 200])

    output = run("trakt_login")

    lines = output.splitlines()
    assert lines[0].startswith(f"To sign in, open {fake.url}/auth/activate and enter the code ")
    user_code = lines[0].rsplit(" ", 1)[1]
    assert f"(or open {fake.url}/auth/activate/{user_code} directly)." in output
    assert "Trakt asks to poll less often: every 10 s from now on." in output
    assert "Signed in as @sean; the token is renewed automatically." in output
    # Every `interval` (5 s), then 5 s slower after the 429, never faster.
    assert clock.sleeps == [5, 5, 5, 10, 10]
    assert fake.tokens.polls == 5
    row = stored()
    assert (row.user_slug, row.user_name) == ("sean", "Sean Rudford")
    assert fake.calls("trakt:/users/me") == 1
    assert credentials.credentials().source == "signed_in"


def test_login_without_a_terminal_prints_plain_lines_and_no_qr_code(fake, clock):
    output = run("trakt_login")

    assert "█" not in output and "▀" not in output and "\x1b" not in output
    assert "Signed in as @sean" in output


def test_login_on_a_terminal_draws_a_qr_code_of_the_activation_address(fake, clock, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    terminal = Terminal()

    output = run("trakt_login", stdout=terminal)

    user_code = output.splitlines()[0].rsplit(" ", 1)[1]
    drawing = io.StringIO()
    segno.make(f"{fake.url}/auth/activate/{user_code}", error="m").terminal(drawing, compact=True)
    assert drawing.getvalue() in output
    assert "On a phone, scan this:" in output


def test_a_dumb_terminal_gets_no_qr_code(fake, clock, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")

    assert "▀" not in run("trakt_login", stdout=Terminal())


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "does not know this device code"),
        (409, "used already"),
        (410, "expired before it was approved"),
        (418, "denied at Trakt"),
    ],
)
def test_each_refusal_ends_login_with_its_own_message_and_stores_nothing(
    fake, clock, status, message
):
    fake.set(device_script=[400, status])

    login_fails(message)

    assert not TraktToken.objects.exists()
    assert fake.tokens.polls == 2  # it stopped there


def test_login_stops_polling_when_the_code_expires(fake, clock):
    fake.set(device_expires_in=12, device_script=[400] * 10)

    login_fails("The code expired after 1 minute without an approval")

    assert sum(clock.sleeps) == 12  # polled until expires_in, not a moment longer
    assert clock.sleeps == [5, 5, 2]
    assert not TraktToken.objects.exists()


def test_a_passing_failure_while_polling_is_said_once_and_polling_goes_on(fake, clock):
    fake.set(device_script=[500, 500, 400, 200])

    output = run("trakt_login")

    assert output.count("Trakt did not answer") == 1
    assert "Signed in as @sean" in output


def test_login_stopped_with_ctrl_c_stores_nothing(fake, clock, monkeypatch):
    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(clock, "sleep", interrupted)

    error = login_fails("Stopped: nothing was stored")

    assert error.returncode == 130
    assert not TraktToken.objects.exists()


def test_login_says_so_when_trakt_does_not_say_whose_token_it_is(fake, clock):
    fake.set(trakt_fault="500")

    output = run("trakt_login")

    assert "Signed in, but Trakt did not say whose token it is" in output
    assert stored().user_slug == ""


def test_login_as_someone_else_than_trakt_username_says_whose_profile_shows(fake, clock, settings):
    settings.TRAKT_USERNAME = "somebody-else"

    assert "the site now shows @sean's profile" in run("trakt_login")


def test_login_replaces_a_signed_out_sign_in_and_forgets_the_answers_made_without_it(
    client, fake, clock
):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")
    assert client.get("/api/watching").json()["error"]["code"] == "signed_out"
    fake.set(refresh_fault=None)

    run("trakt_login")

    assert client.get("/api/watching").status_code == 200  # not the kept error
    assert stored().signed_out_at is None
    assert stored().generation == 2


def test_login_again_revokes_the_token_it_replaces(client, fake, clock):
    old = sign_in(fake)

    run("trakt_login")

    assert old["access_token"] in fake.tokens.revoked
    assert fake.calls("auth:/oauth/revoke") == 1
    assert client.get("/api/watching").status_code == 200


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TRAKT_CLIENT_SECRET", "", "Set TRAKT_API_KEY and TRAKT_CLIENT_SECRET"),
        ("TRAKT_API_KEY", "", "Set TRAKT_API_KEY and TRAKT_CLIENT_SECRET"),
        ("DEMO_MODE", True, "DEMO_MODE is on"),
    ],
)
def test_login_without_what_it_needs_says_what_to_set(
    fake, clock, settings, setting, value, message
):
    setattr(settings, setting, value)

    login_fails(message)

    assert fake.calls("auth:") == 0


def test_login_with_a_wrong_client_secret_says_so(fake, clock, settings):
    settings.TRAKT_CLIENT_SECRET = "not-the-secret-0123456789"

    login_fails("check TRAKT_API_KEY and TRAKT_CLIENT_SECRET")


def test_login_when_trakt_cannot_be_reached_says_so(fake, clock, settings):
    settings.TRAKT_AUTH_URL = f"http://127.0.0.1:{free_port()}"

    login_fails("Trakt could not start the sign-in: Trakt could not be reached")


def test_login_on_a_database_that_is_not_migrated_says_what_to_run(fake, clock, monkeypatch):
    def missing(*args, **kwargs):
        raise OperationalError("no such table: profile_trakttoken")

    monkeypatch.setattr(TraktToken.objects, "exists", missing)

    login_fails("run `manage.py migrate` first")


# --- trakt_logout -------------------------------------------------------------------------------


def test_logout_revokes_the_token_at_trakt_deletes_it_and_forgets_what_it_showed(client, fake):
    pair = sign_in(fake)
    assert client.get("/api/profile").status_code == 200  # the private profile, kept 15 min

    output = run("trakt_logout")

    assert output.strip() == "Signed out @sean: the token is revoked at Trakt and deleted here."
    assert pair["access_token"] in fake.tokens.revoked
    assert not TraktToken.objects.exists()
    assert client.get("/api/profile").json()["error"]["code"] == "private_profile"


def test_logout_when_nobody_is_signed_in_does_nothing(fake):
    assert run("trakt_logout").strip() == "Nobody is signed in here: nothing to do."
    assert fake.calls("auth:") == 0


def test_logout_mentions_trakt_access_token_which_it_cannot_remove(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "environment-token-0123456789"

    assert "TRAKT_ACCESS_TOKEN is still set in the environment" in run("trakt_logout")


def test_logout_when_trakt_cannot_revoke_deletes_here_and_says_what_to_do(fake, settings):
    sign_in(fake)
    settings.TRAKT_AUTH_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(CommandError, match="Deleted the sign-in of @sean here, but Trakt did not"):
        run("trakt_logout")

    assert not TraktToken.objects.exists()


def test_logout_without_the_client_secret_deletes_here_and_says_so(fake, settings):
    sign_in(fake)
    settings.TRAKT_CLIENT_SECRET = ""

    with pytest.raises(CommandError, match="TRAKT_CLIENT_SECRET is not set"):
        run("trakt_logout")

    assert not TraktToken.objects.exists()


# --- trakt_status -------------------------------------------------------------------------------


def status_lines() -> dict[str, str]:
    """ "Label:   text" lines as {label: text}."""
    lines = [line.split(":", 1) for line in run("trakt_status").splitlines()]
    return {label: text.strip() for label, text in lines}


def test_status_with_nobody_signed_in_names_the_public_profile(fake):
    TraktRateLimit.objects.all().delete()

    lines = status_lines()

    assert lines["Signed in"].startswith("nobody")
    assert lines["Trakt calls use"] == "no token: the public profile of @sean"
    assert lines["Rate limit"].startswith("not seen yet")


def test_status_of_a_sign_in_says_whose_when_it_expires_and_never_a_token(fake):
    pair = sign_in(fake, issued_ago=2 * DAY)

    output = run("trakt_status")
    lines = status_lines()

    assert lines["Signed in"].startswith("@sean (Sean Rudford), since ")
    assert lines["Trakt calls use"].startswith("the stored sign-in")
    assert "(in 4 days, 23 hours)" in lines["Token expires"]
    assert "renewed automatically from" in lines["Token expires"]
    assert (lines["Last renewal"], lines["Last error"]) == ("never", "none")
    for secret in (pair["access_token"], pair["refresh_token"], TRAKT_SECRET):
        assert secret not in output


def test_status_after_a_renewal_and_an_error(client, fake):
    sign_in(fake, issued_ago=6.5 * DAY)
    fake.set(refresh_fault="500")
    client.get("/api/watching")

    lines = status_lines()

    assert "renewal failed: unavailable" in lines["Last error"]
    assert "the next try after a failure" in lines["Last renewal"]


def test_status_in_demo_mode_says_no_trakt_calls_are_made(settings):
    settings.DEMO_MODE = True

    assert status_lines()["Trakt calls use"].startswith("none: the site serves its built-in demo")


def test_status_of_trakt_access_token_says_the_site_cannot_renew_it(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "environment-token-0123456789"

    output = run("trakt_status")

    assert "TRAKT_ACCESS_TOKEN: a token this site cannot renew" in output
    assert "environment-token-0123456789" not in output


def test_status_when_signed_out_says_so_and_exits_non_zero(client, fake):
    sign_in(fake, issued_ago=8 * DAY)
    fake.set(refresh_fault="invalid_grant")
    client.get("/api/watching")
    out = io.StringIO()

    with pytest.raises(CommandError, match="run `manage.py trakt_login`"):
        call_command("trakt_status", stdout=out)

    assert "SIGNED OUT:" in out.getvalue()
    assert "Trakt refused to renew the token (HTTP 401)" in out.getvalue()


def test_status_shows_the_rate_limit_headroom_written_down_at_most_once_a_minute(
    client, fake, monkeypatch
):
    monkeypatch.setattr(rate_limit, "_next_note", 0.0)
    TraktRateLimit.objects.all().delete()
    fake.set(rate_limit={"remaining": 480, "limit": 500}, private_user=False)

    client.get("/api/watching")
    seen = _written_down()
    fake.set(rate_limit={"remaining": 479, "limit": 500})
    client.get("/api/profile")
    rate_limit._notes.submit(lambda: None).result(timeout=10)  # anything queued is written by now

    assert (seen.remaining, seen.limit, seen.period) == (480, 500, 300)
    assert TraktRateLimit.objects.get().remaining == 480  # not again within the minute
    assert "480 of 500 calls left per 300 s (AUTHED_API_GET_LIMIT), as of " in run("trakt_status")


def test_status_lines_are_one_function_each(fake):
    assert all(callable(make) for make in trakt_status.LINES)
    assert trakt_status.LINES[-1] is trakt_status.history_mirror


def test_status_says_when_the_history_mirror_last_synced(fake):
    assert status_lines()["Last sync"].startswith("never")

    fake.set(history=30)
    sync.sync(pace=False)
    lines = status_lines()

    assert "30 plays, 30 new, 0 removed" in lines["Last sync"]
    assert "failed" not in lines["Last sync"]


def test_status_says_when_the_last_sync_failed_after_the_last_good_one(fake):
    fake.set(history=30)
    sync.sync(pace=False)
    fake.set(trakt_fault="500")
    with pytest.raises(sync.SyncFailed):
        sync.sync(pace=False)

    last = status_lines()["Last sync"]

    assert "30 plays" in last
    assert "the last try failed" in last and "unavailable" in last


def _written_down(timeout: float = 10) -> TraktRateLimit:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = TraktRateLimit.objects.filter(pk=1).first()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError("the rate limit was not written down")


def test_status_of_an_expired_token_says_it_is_renewed_at_the_next_call(fake):
    sign_in(fake, issued_ago=8 * DAY)

    assert "EXPIRED " in status_lines()["Token expires"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "not json",
        "[]",
        '{"limit": 500}',
        '{"limit": "many", "remaining": 1}',
        '{"limit": 1e400, "remaining": 1}',
        '{"limit": -5, "remaining": 1}',
        '{"limit": 99999999999999999999, "remaining": 1}',
        "[" * 100_000 + "]" * 100_000,
        '{"limit": 500, "remaining": 5, "pad": "' + "x" * 5000 + '"}',
    ],
)
def test_a_hostile_x_ratelimit_is_ignored_not_stored_and_not_an_error(header):
    from profile.client import trakt
    from profile.client.http import Reply

    received = []

    def receiver(sender, info, **kwargs):
        received.append(info)

    trakt.rate_limit_seen.connect(receiver)
    try:
        trakt.note_rate_limit(Reply(200, {"X-Ratelimit": header}, b"{}"))
    finally:
        trakt.rate_limit_seen.disconnect(receiver)

    assert received == []


def test_odd_but_usable_x_ratelimit_values_are_cleaned():
    from profile.client import trakt
    from profile.client.http import Reply

    received = []

    def receiver(sender, info, **kwargs):
        received.append(info)

    header = '{"name": "A\\u0000B", "period": "soon", "limit": "500", "remaining": 3, "until": "x"}'
    trakt.rate_limit_seen.connect(receiver)
    try:
        trakt.note_rate_limit(Reply(200, {"X-Ratelimit": header}, b"{}"))
    finally:
        trakt.rate_limit_seen.disconnect(receiver)

    (info,) = received
    assert (info.name, info.period, info.limit, info.remaining, info.until) == (
        "AB",
        None,
        500,
        3,
        None,
    )
