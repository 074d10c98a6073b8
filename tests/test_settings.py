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
        "-sean",
        "a" * 65,
    ],
)
def test_an_invalid_trakt_username_is_refused_at_startup(username):
    result = check(TRAKT_USERNAME=username)

    assert result.returncode != 0
    assert "TRAKT_USERNAME may hold only" in result.stderr


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
