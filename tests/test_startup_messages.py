"""A start-up error is one clear message (what is wrong, what to set, an example), never a
traceback: from every manage.py command, from gunicorn (WSGI and ASGI), from `make serve`."""

import os
import signal
import subprocess
import sys

import pytest

from tests.servers import BIN, ROOT, free_port, site_env

NO_SECRET_KEY = {"SECRET_KEY": ""}
# One of each kind of mistake: a missing value, a bad value, settings that clash.
MISTAKES = {
    "no-secret-key": (NO_SECRET_KEY, "SECRET_KEY is not set", "SECRET_KEY="),
    "bad-bool": ({"DEBUG": "ture"}, "DEBUG must be true or false", "DEBUG=false"),
    "bad-number": ({"WATCHING_CACHE_SECONDS": "soon"}, "must be a whole number", "=15"),
    "bad-url": ({"TRAKT_API_URL": "api.trakt.tv"}, "TRAKT_API_URL must be", "https://"),
    "bad-zone": ({"TIME_ZONE": "Mars/Olympus"}, "not a known time zone", "TIME_ZONE=Europe/"),
    "bad-username": ({"TRAKT_USERNAME": "a b"}, "TRAKT_USERNAME may hold only", "TRAKT_USERNAME="),
    "key-without-user": ({"TRAKT_API_KEY": "k"}, "TRAKT_USERNAME is not set", "TRAKT_USERNAME="),
    "preload-without-https": ({"HSTS_PRELOAD": "true"}, "HSTS_PRELOAD", "HTTPS_ONLY=true"),
    "bad-cors-origin": ({"CORS_ALLOWED_ORIGINS": "a.example"}, "CORS_ALLOWED_ORIGINS", "https://"),
    "bad-database": ({"DATABASE_URL": "nonsense"}, "DATABASE_URL must be", "postgres://"),
    "bad-cache": ({"CACHE_URL": "nonsense"}, "CACHE_URL must be", "redis://"),
}


def run(command: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run `command` in the repository with exactly `env` (on top of the tests' site settings);
    its exit status and everything it printed. A process still running at the deadline is
    stopped with its children, and the test fails."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=site_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{command} was still running after {timeout} s:\n{output}")
    return process.returncode, output


def assert_one_clear_message(output: str, says: str, example: str) -> None:
    assert "Traceback" not in output, output
    assert output.count("nowwatching cannot start:") == 1, output
    assert says in output, output
    # What to set, then an example.
    assert "for example:" in output.lower(), output
    assert example in output[output.lower().index("for example:") :], output


@pytest.mark.parametrize(("env", "says", "example"), MISTAKES.values(), ids=MISTAKES.keys())
def test_every_kind_of_mistake_is_one_message_with_what_to_set_and_an_example(env, says, example):
    status, output = run([sys.executable, "manage.py", "check"], env)

    assert status != 0
    assert_one_clear_message(output, says, example)


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["migrate", "--noinput"],
        ["collectstatic", "--noinput"],
        ["runserver", "127.0.0.1:0", "--noreload"],
        ["shell", "-c", "print(1)"],
        ["help"],
        ["no-such-command"],
    ],
    ids=lambda command: command[0],
)
def test_every_manage_py_command_says_it_plainly(command):
    status, output = run([sys.executable, "manage.py", *command], {"TRAKT_API_KEY": "k"})

    assert status != 0
    assert_one_clear_message(output, "TRAKT_USERNAME is not set", "TRAKT_USERNAME=")


def test_the_secret_key_message_advises_a_secret_key_not_debug():
    _, output = run([sys.executable, "manage.py", "check"], NO_SECRET_KEY)

    assert "Set SECRET_KEY" in output
    assert "DEBUG=true" not in output
    # The example is a fresh random value, long enough for Django's deploy check.
    example = next(line.strip() for line in output.splitlines() if "SECRET_KEY=" in line)
    assert len(example.removeprefix("SECRET_KEY=")) >= 50


GUNICORN = [str(BIN / "gunicorn"), "-c", "nowwatching/gunicorn.conf.py"]
APPS = {
    "wsgi": ["--worker-class", "sync", "nowwatching.wsgi:application"],
    "asgi": ["--worker-class", "asgi", "nowwatching.asgi:application"],
}


@pytest.mark.parametrize("app", APPS.values(), ids=APPS.keys())
def test_gunicorn_stops_with_the_message_once_not_a_traceback_per_worker(app):
    bind = ["--bind", f"127.0.0.1:{free_port()}", "--workers", "2", "--no-control-socket"]
    status, output = run([*GUNICORN, *bind, *app], NO_SECRET_KEY)

    assert status != 0
    assert_one_clear_message(output, "SECRET_KEY is not set", "SECRET_KEY=")
    assert "Booting worker" not in output  # stopped before any worker started


@pytest.mark.parametrize("app", APPS.values(), ids=APPS.keys())
def test_gunicorn_without_our_config_still_stops_with_the_message(app):
    # Started some other way (a unit file without --config): the WSGI/ASGI module says it,
    # and exits so that gunicorn stops instead of restarting the worker for ever.
    bind = ["--bind", f"127.0.0.1:{free_port()}", "--workers", "1", "--no-control-socket"]
    status, output = run([str(BIN / "gunicorn"), *bind, *app], NO_SECRET_KEY)

    assert status != 0
    assert_one_clear_message(output, "SECRET_KEY is not set", "SECRET_KEY=")


@pytest.mark.parametrize("module", ["nowwatching.wsgi", "nowwatching.asgi"])
def test_any_server_importing_the_application_gets_the_message(module):
    # uvicorn, uWSGI, mod_wsgi, Daphne: each imports one of these modules first.
    status, output = run([sys.executable, "-c", f"import {module}"], {"TRAKT_API_KEY": "k"})

    assert status != 0
    assert_one_clear_message(output, "TRAKT_USERNAME is not set", "TRAKT_USERNAME=")


def test_make_serve_without_a_secret_key_says_to_set_one():
    status, output = run(["make", "--no-print-directory", "serve"], NO_SECRET_KEY, timeout=180)

    assert status != 0
    assert_one_clear_message(output, "SECRET_KEY is not set", "SECRET_KEY=")
    assert "DEBUG=true" not in output
