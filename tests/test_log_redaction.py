"""No key, token or password in any log line, at any level, from any library.

The session as a whole is also scanned: tests/conftest.py keeps every record the suite
logged at DEBUG, and every gunicorn log, and fails the run if one holds a known secret.
"""

import io
import logging
import urllib.request

import pytest
from django.conf import settings as django_settings

from nowwatching import redaction
from nowwatching.redaction import REDACTED, redact_also
from profile.client import TmdbAuth, tmdb
from tests import fake_upstream
from tests.conftest import WEBHOOK_TOKEN
from tests.player import Player
from tests.servers import SITE_LOGS, gunicorn


@pytest.fixture
def lines():
    """Whatever a plain handler, configured by nobody, writes for any logger."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield out
    root.removeHandler(handler)


def test_urllib3s_warning_about_a_malformed_header_does_not_show_tmdbs_key(fake, lines):
    fake.set(tmdb_fault="malformed_header")

    with pytest.raises(tmdb.UpstreamError):
        tmdb.images(TmdbAuth(api_key=fake_upstream.TMDB_KEY), "movie", 1)

    text = lines.getvalue()
    assert "Failed to parse headers" in text  # urllib3 did warn, with the URL...
    assert f"api_key={REDACTED}" in text  # ...whose key is gone
    assert fake_upstream.TMDB_KEY not in text


def test_debug_lines_with_whole_urls_are_redacted_too(fake, lines):
    tmdb.images(TmdbAuth(api_key=fake_upstream.TMDB_KEY), "movie", 1)

    text = lines.getvalue()
    assert "DEBUG urllib3.connectionpool" in text and "api_key=" in text
    assert fake_upstream.TMDB_KEY not in text


@pytest.mark.parametrize(
    "setting", ["TRAKT_API_KEY", "TRAKT_CLIENT_SECRET", "TRAKT_ACCESS_TOKEN", "TMDB_API_KEY",
                "TMDB_READ_ACCESS_TOKEN", "SECRET_KEY"],
)  # fmt: skip
def test_each_configured_secret_is_redacted_from_message_args_and_traceback(
    settings, lines, setting
):
    secret = f"{setting.lower()}-value/with+odd=chars"
    setattr(settings, setting, secret)
    log = logging.getLogger("some.library")

    log.warning("in the message: " + secret)
    log.info("in the args: %s and %r", secret, {"key": secret})
    try:
        raise RuntimeError(f"in the exception: {secret}")
    except RuntimeError:
        log.error("failed", exc_info=True)
    log.warning("in a URL: https://x.example/?k=%s", urllib.parse.quote(secret, safe=""))
    log.warning("with a stack", stack_info=True, extra={"note": "x"})

    text = lines.getvalue()
    assert secret not in text
    assert urllib.parse.quote(secret, safe="") not in text
    assert text.count(REDACTED) == 5
    assert "RuntimeError: in the exception: [redacted]" in text


def test_a_password_in_cache_url_or_database_url_is_redacted(settings, lines, monkeypatch):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "redis://:s3cr%40t-pass@127.0.0.1:6379/0",
        },
    }
    monkeypatch.setitem(django_settings.DATABASES["default"], "PASSWORD", "db-pass-9f8e")
    log = logging.getLogger("redis")

    log.warning("connecting to %s as %s", settings.CACHES["default"]["LOCATION"], "s3cr@t-pass")
    log.warning("psycopg: password db-pass-9f8e refused")

    text = lines.getvalue()
    assert "s3cr" not in text and "db-pass-9f8e" not in text


def test_a_secret_learned_at_run_time_is_redacted_once_registered(lines):
    token = "oauth-token-from-the-database-8c1d"
    log = logging.getLogger("profile.signin.renewal")

    log.warning("before: %s", token)
    redact_also(token)
    log.warning("after: %s", token)

    text = lines.getvalue()
    assert f"before: {token}" in text  # only what is registered is known
    assert f"after: {REDACTED}" in text


def test_short_values_are_no_secrets_and_lines_stay_readable(settings, lines):
    settings.SECRET_KEY = "x"

    logging.getLogger("x").warning("x marks the spot")

    assert "x marks the spot" in lines.getvalue()


def test_a_record_that_cannot_be_formatted_still_loses_its_secret(settings, lines, capsys):
    settings.TRAKT_API_KEY = "trakt-key-in-bad-format-args"

    logging.getLogger("x").warning("%d items", "trakt-key-in-bad-format-args")

    assert "trakt-key-in-bad-format-args" not in lines.getvalue() + capsys.readouterr().err


def test_every_handler_in_the_settings_carries_the_filter():
    config = django_settings.LOGGING
    for name, handler in config["handlers"].items():
        assert "redact_secrets" in handler.get("filters", []), name
    for handler in logging.getLogger().handlers:
        if handler.name in config["handlers"]:
            assert any(isinstance(f, redaction.RedactSecrets) for f in handler.filters)


def test_gunicorns_log_holds_no_key_when_tmdb_sends_a_malformed_header(fake):
    fake.set(tmdb_fault="malformed_header")
    with gunicorn(fake.env(), workers=1) as site:
        with urllib.request.urlopen(site.url + "/api/watching", timeout=30) as response:
            assert response.status == 200  # TMDB failing only costs the images
        log = site.log_text()

    assert "Failed to parse headers" in log
    assert fake_upstream.TMDB_KEY not in log and fake_upstream.TRAKT_KEY not in log


def test_the_webhook_token_is_redacted_from_gunicorns_access_log_right_or_wrong(fake):
    near_miss = WEBHOOK_TOKEN[:-1] + "Z"
    env = fake.env() | {"WEBHOOK_TOKEN": WEBHOOK_TOKEN, "MEDIA_SERVER_USER": "sean"}
    with gunicorn(env, workers=1, args=("--access-logfile", "-")) as site:
        assert Player("emby", WEBHOOK_TOKEN).post(site.url, "play", 60)[0] == 202
        assert Player("emby", near_miss).post(site.url, "play", 60)[0] == 404
    log = SITE_LOGS[-1]  # all of it: the server has stopped

    assert log.count("POST /hooks/emby/[redacted]") == 2
    assert WEBHOOK_TOKEN not in log and near_miss not in log


def test_a_notification_urls_secret_parts_are_redacted(settings, lines):
    settings.NOTIFY_URLS = (
        "discord://1234567890123/AbCdEfTokenPart-xyz",
        "tgram://123456789:ABCdefGHIjkl/12345678",
        "ntfys://ntfy.sh/sean-watches-things",
    )
    log = logging.getLogger("some.library")

    log.warning("posting to https://discord.com/api/webhooks/1234567890123/AbCdEfTokenPart-xyz")
    log.warning("bot 123456789:ABCdefGHIjkl said no; topic sean-watches-things; host ntfy.sh")

    text = lines.getvalue()
    for part in ("1234567890123", "AbCdEfTokenPart-xyz", "ABCdefGHIjkl", "sean-watches-things"):
        assert part not in text
    assert "host ntfy.sh" in text  # a host name is no secret, and lines stay readable
