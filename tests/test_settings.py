"""Configuration is read from the environment and refused loudly when it is wrong."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

BASE = {"PATH": os.environ["PATH"], "SECRET_KEY": "x", "DEBUG": "false"}


def check(**env) -> subprocess.CompletedProcess:
    """Run `manage.py check` in a fresh process with exactly this environment."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=BASE | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_valid_configuration_starts():
    assert check(TRAKT_USERNAME="sean").returncode == 0


@pytest.mark.parametrize(
    "username",
    [
        "../../users/me",
        "sean?x=1",
        "sean/watching",
        "a b",
        "é",
        # Hostile input (tests/test_hostile_input.py): encodings, fragments, control bytes.
        "%2e%2e",
        "sean%2Fwatching",
        "sean#x",
        "sean\twatching",
        "..",
        ".",
        ".sean",
        "-sean",
        "a" * 65,
    ],
)
def test_an_invalid_trakt_username_is_refused_at_startup(username):
    result = check(TRAKT_USERNAME=username)

    assert result.returncode != 0
    assert "TRAKT_USERNAME may hold only" in result.stderr


@pytest.mark.parametrize("username", ["_captain", "__", "sean", "9-to-5", "the.end_", "a" * 64])
def test_every_slug_trakt_makes_is_a_valid_trakt_username(username):
    result = check(TRAKT_USERNAME=username)

    assert result.returncode == 0, result.stderr


def test_a_missing_secret_key_is_an_error_unless_debug():
    no_key = {"SECRET_KEY": ""}
    assert "SECRET_KEY is not set" in check(**no_key).stderr
    assert check(**no_key, DEBUG="true").returncode == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "ture", "DEBUG must be true or false"),
        ("WATCHING_CACHE_SECONDS", "soon", "WATCHING_CACHE_SECONDS must be a whole number"),
        ("WATCHING_CACHE_SECONDS", "-1", "WATCHING_CACHE_SECONDS must be at least 0"),
        ("TRAKT_API_URL", "ftp://x", "TRAKT_API_URL must be an http(s) URL"),
        ("TIME_ZONE", "Mars/Olympus", "is not a known time zone"),
    ],
)
def test_bad_values_are_startup_errors_with_a_clear_message(name, value, message):
    result = check(**{name: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_empty_values_mean_the_defaults():
    # A copied .env.example leaves many values empty.
    empty = dict.fromkeys(["DEMO_MODE", "WATCHING_CACHE_SECONDS", "TRAKT_API_URL", "DEBUG"], "")

    assert check(**empty).returncode == 0


# --- Combinations that cannot work stop start-up -------------------------------------------

# Every Trakt setting is given (empty unless named), so a developer's .env.local cannot
# change what a case means.
TRAKT_SETTINGS = dict.fromkeys(
    ["TRAKT_API_KEY", "TRAKT_USERNAME", "TRAKT_CLIENT_SECRET", "TRAKT_ACCESS_TOKEN", "DEMO_MODE"],
    "",
)


def check_trakt(**env) -> subprocess.CompletedProcess:
    return check(**TRAKT_SETTINGS | env)


@pytest.mark.parametrize(
    ("env", "wrong", "to_set"),
    [
        # A key, but nobody's profile to show (the page said "Trakt did not answer").
        ({"TRAKT_API_KEY": "k"}, "TRAKT_USERNAME is not set", "Set TRAKT_USERNAME"),
        (
            {"TRAKT_API_KEY": "k", "DEMO_MODE": "false"},
            "TRAKT_USERNAME is not set",
            "TRAKT_USERNAME",
        ),
        # No demo asked for, and nothing real to show: no key, no username.
        ({"DEMO_MODE": "false"}, "DEMO_MODE is false", "Set TRAKT_USERNAME"),
        ({"DEMO_MODE": "false"}, "neither TRAKT_API_KEY nor TRAKT_USERNAME", "TRAKT_API_KEY"),
        # The app's secret or a user's token belong to an app: its client id must be set.
        ({"TRAKT_CLIENT_SECRET": "s"}, "TRAKT_CLIENT_SECRET is set", "Set TRAKT_API_KEY"),
        ({"TRAKT_ACCESS_TOKEN": "t"}, "TRAKT_ACCESS_TOKEN is set", "Set TRAKT_API_KEY"),
        (
            {"TRAKT_ACCESS_TOKEN": "t", "TRAKT_USERNAME": "sean", "DEMO_MODE": "true"},
            "TRAKT_ACCESS_TOKEN is set",
            "Set TRAKT_API_KEY",
        ),
    ],
)
def test_settings_that_cannot_work_together_stop_startup(env, wrong, to_set):
    result = check_trakt(**env)

    assert result.returncode != 0
    assert wrong in result.stderr
    assert to_set in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {},  # the demo
        # An owner with no Trakt API app: the site shows what their export holds.
        {"TRAKT_USERNAME": "sean"},
        {"TRAKT_USERNAME": "sean", "DEMO_MODE": "false"},
        {"TRAKT_API_KEY": "k", "TRAKT_USERNAME": "sean"},
        {"TRAKT_API_KEY": "k", "TRAKT_USERNAME": "sean", "DEMO_MODE": "false"},
        # The token's owner is "me": no username needed.
        {"TRAKT_API_KEY": "k", "TRAKT_ACCESS_TOKEN": "t"},
        # Signed in with `manage.py trakt_login`: the owner of the stored token is "me".
        {"TRAKT_API_KEY": "k", "TRAKT_CLIENT_SECRET": "s"},
        # An explicit demo with keys set is a choice, not a mistake.
        {"TRAKT_API_KEY": "k", "DEMO_MODE": "true"},
    ],
)
def test_settings_that_work_together_start(env):
    result = check_trakt(**env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL must be"),
        ({"DATABASE_URL": "mysql://u:hunter2@db/x"}, "DATABASE_URL must be"),
        ({"CACHE_URL": "nonsense"}, "CACHE_URL must be"),
    ],
)
def test_a_bad_database_or_cache_url_is_a_clear_startup_error(env, message):
    result = check(**env)

    assert result.returncode != 0
    assert message in result.stderr
    assert "hunter2" not in result.stderr  # a URL's password is never printed


def test_an_empty_allowed_hosts_means_the_default():
    # `ALLOWED_HOSTS=` would otherwise answer every request with 400.
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)"],
        cwd=settings.BASE_DIR,
        env=BASE | {"ALLOWED_HOSTS": "", "DJANGO_SETTINGS_MODULE": "nowwatching.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "localhost" in result.stdout, result.stderr


@pytest.mark.parametrize(
    ("env", "demo", "export_only"),
    [
        ({}, True, False),  # a fresh clone: the demo
        ({"TRAKT_USERNAME": "sean"}, False, True),  # no API app: the imported export
        ({"TRAKT_API_KEY": "k", "TRAKT_USERNAME": "sean"}, False, False),  # the live site
        ({"TRAKT_USERNAME": "sean", "DEMO_MODE": "true"}, True, False),  # asked for
    ],
)
def test_demo_mode_is_for_an_empty_site_only(env, demo, export_only):
    code = "from django.conf import settings; print(settings.DEMO_MODE, settings.EXPORT_ONLY)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=BASE | TRAKT_SETTINGS | env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [str(demo), str(export_only)]


# --- Media servers, notifications, friends ---------------------------------------------------

TOKEN = "a-WEBHOOK-token-of-32-characters"
NOTIFY_URL = "json://127.0.0.1:9/secret-PART-never-printed"
LIVE = {"TRAKT_API_KEY": "k", "TRAKT_USERNAME": "sean"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_TOKEN": "too-short"}, "WEBHOOK_TOKEN must be 24 to 256 letters"),
        ({"WEBHOOK_TOKEN": TOKEN + "/x", "MEDIA_SERVER_USER": "sean"}, "WEBHOOK_TOKEN must be"),
        ({"WEBHOOK_TOKEN": TOKEN}, "MEDIA_SERVER_USER is not"),
        ({"NOTIFY_URLS": f"{NOTIFY_URL},discrod://id/secret-PART"}, "NOTIFY_URLS entry 2 (discrod"),
        ({"NOTIFY_URLS": NOTIFY_URL, "NOTIFY_EVENTS": "start,boom"}, "may hold only start, end"),
        ({"NOTIFY_EVENTS": "end"}, "NOTIFY_EVENTS is set, but NOTIFY_URLS is not"),
        ({"FRIENDS": "sam,a b"}, "FRIENDS is off, all, or Trakt user slugs"),
        ({"FRIENDS": "all", "TRAKT_API_KEY": "", "TRAKT_USERNAME": ""}, "DEMO_MODE is too"),
        ({"FRIENDS": "all", "TRAKT_API_KEY": ""}, "FRIENDS is on, but TRAKT_API_KEY is not"),
        ({"NOTIFY_URLS": NOTIFY_URL, "NOTIFY_EVENTS": "friends"}, "but FRIENDS is off"),
    ],
)
def test_bad_live_settings_stop_startup_without_repeating_a_secret(env, message):
    result = check(**LIVE | env)

    assert result.returncode != 0
    assert message in result.stderr
    assert "secret-PART" not in result.stderr
    assert TOKEN not in result.stderr


def test_live_settings_that_work_together_start():
    result = check(
        **LIVE,
        WEBHOOK_TOKEN=TOKEN,
        MEDIA_SERVER_USER="sean, Sean R",
        NOTIFY_URLS=f"{NOTIFY_URL}, ntfys://ntfy.sh/my-topic",
        NOTIFY_EVENTS="start, END,pause,friends",
        FRIENDS="all",
    )

    assert result.returncode == 0, result.stderr
