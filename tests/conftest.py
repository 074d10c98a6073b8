"""Shared test set-up: known settings, an empty cache, and no way out to the internet."""

import contextlib
import logging
import os
import socket

import pytest
from django.core.signals import setting_changed
from django.dispatch import receiver

# Playwright's sync API runs an event loop in the test thread; pytest-django's database
# set-up would otherwise refuse to run ("You cannot call this from an async context").
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("SECRET_KEY", "insecure-key-for-tests-only")

# Fake credentials: distinctive, so a test can search every output for them.
TRAKT_KEY = "trakt-KEY-must-never-leak-7f3a"
TMDB_KEY = "tmdb-KEY-must-never-leak-91c2"
TRAKT_TOKEN = "trakt-TOKEN-must-never-leak-55d0"
TMDB_TOKEN = "tmdb-TOKEN-must-never-leak-e8b4"
WEBHOOK_TOKEN = "hook-TOKEN-must-never-leak-5c7e9a"
# The secret part of the notification targets' URLs the tests use (json://.../<secret>).
NOTIFY_SECRET = "notify-SECRET-must-never-leak-3d1f"
SECRETS = (TRAKT_KEY, TMDB_KEY, TRAKT_TOKEN, TMDB_TOKEN, WEBHOOK_TOKEN, NOTIFY_SECRET)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_addoption(parser):
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run the database tests on a throwaway PostgreSQL server instead of SQLite",
    )
    parser.addoption(
        "--image",
        action="store_true",
        help="run tests/image/ (`make image-test`): build the image, run it and the compose "
        "file with Docker",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "both_databases: runs on SQLite, and again on PostgreSQL in `make test`'s second run "
        "(pytest --postgres -m both_databases)",
    )


def pytest_collection_modifyitems(config, items):
    """Every test may read the database: the pages and the API read the history mirror
    (empty unless the test fills it) and every Trakt call reads the stored sign-in. A test's
    own django_db marker wins (transaction=True for tests whose threads write).

    tests/image/ runs only with --image (`make image-test`): it needs Docker and minutes."""
    image = pytest.mark.skip(reason="Docker: run by `make image-test` (pytest --image)")
    for item in items:
        if "image" in item.path.parent.parts[-1:] and not config.getoption("--image"):
            item.add_marker(image)
        if item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server for the session (Debian's, installed by `make test`)."""
    from tests.servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix):
    """With --postgres, the test database lives on the throwaway server (pytest-django
    creates and drops it there); else in a SQLite file of the session's temporary folder."""
    from django.conf import settings
    from django.db import connections

    from nowwatching.databases import config

    if not request.config.getoption("--postgres"):
        # A file, as in production (WAL, a busy timeout), not SQLite's shared-cache memory
        # database, whose table locks fail at once instead of waiting: the Trakt sign-in's
        # lease is written by many threads at once.
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            folder = request.getfixturevalue("tmp_path_factory").mktemp("database")
            settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
                folder / "test.sqlite3"
            )
        return

    url = request.getfixturevalue("postgres_url")
    settings.DATABASES["default"] = config(url)
    # Threads of the test process (background refreshes) close their connections after each
    # job, as they would at the end of a request: the test database is dropped at the end.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Collecting the tests may have opened the SQLite connection already: start afresh.
    connections.close_all()
    for alias in list(connections.settings):
        with contextlib.suppress(AttributeError):
            del connections[alias]
    connections.__dict__.pop("settings", None)
    connections._settings = None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: Playwright cannot download a browser here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


_real_connect = socket.socket.connect


def _loopback_only(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in (
        "127.0.0.1",
        "::1",
        "localhost",
    ):
        raise OSError(f"tests may not leave this machine (tried {host})")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Nothing in the suite may reach the real Trakt or TMDB, even by mistake."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def site_settings(settings):
    """Every test starts from the same configuration, whatever .env.local holds."""
    settings.DEMO_MODE = False
    settings.TRAKT_API_KEY = TRAKT_KEY
    settings.TRAKT_USERNAME = "sean"
    settings.TRAKT_ACCESS_TOKEN = ""
    settings.TMDB_API_KEY = TMDB_KEY
    settings.TMDB_READ_ACCESS_TOKEN = ""
    settings.TRAKT_API_URL = "https://api.trakt.tv"
    settings.TMDB_API_URL = "https://api.themoviedb.org/3"
    settings.TMDB_IMAGE_URL = "https://image.tmdb.org/t/p"
    settings.WATCHING_CACHE_SECONDS = 15
    settings.WEBHOOK_TOKEN = ""
    settings.MEDIA_SERVER_USER = ()
    settings.NOTIFY_URLS = ()
    settings.NOTIFY_EVENTS = frozenset({"start", "end"})
    settings.FRIENDS = "off"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return settings


@pytest.fixture
def mock():
    """Trakt and TMDB answered by `responses` (see tests/upstream.py for the bodies)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake(settings):
    """The loopback fake Trakt/TMDB, with this process's settings pointed at it."""
    from tests.fake_upstream import FakeUpstream

    with FakeUpstream() as fake:
        fake.configure(settings)
        yield fake


@pytest.fixture
def hooks(fake, settings):
    """The webhooks on (WEBHOOK_TOKEN, the owner "sean"), Trakt idle, the fake answering the
    lookups; the follow-ups of each webhook waited for by `hooks.settle()`."""
    from profile.live import notify
    from profile.live.webhooks import wait_for_follow_ups

    settings.WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.MEDIA_SERVER_USER = ("sean",)
    fake.set(watching="idle")
    fake.settle = lambda: wait_for_follow_ups(timeout=30) or pytest.fail("follow-ups hung")
    notify.reset_targets()
    yield fake
    # Before the fake and the settings go: a follow-up still looking a title up would ask
    # a fake that is gone, with keys no longer known as secrets.
    fake.settle()
    notify.reset_targets()


@pytest.fixture(scope="module")
def fake_server():
    """One fake for a whole module, for modules of many quick cases (stopping one takes up
    to half a second); each test resets it and points settings at it itself."""
    from tests.fake_upstream import FakeUpstream

    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def reset_fake(settings, fake_server):
    """The module's one fake as if new: reset, with this test's settings pointed at it (a
    module names it `fake` with what its cases add)."""
    fake_server.reset()
    fake_server.configure(settings)
    return fake_server


@pytest.fixture(autouse=True)
def database_breaker_closed():
    """Each test starts with the database's breaker closed and no mirror state remembered
    from another test's database (nowwatching/databases/guard.py, profile/mirror/state.py)."""
    from nowwatching.databases import guard
    from profile.mirror import state

    guard.forget_breakers()
    state._last_read = None
    yield
    guard.forget_breakers()
    state._last_read = None


@pytest.fixture(autouse=True)
def empty_cache():
    from django.core.cache import caches

    from profile.live.cache import wait_for_refreshes
    from profile.live.page import wait_for_page_parts
    from profile.live.push import wait_for_pushes
    from profile.live.webhooks import wait_for_follow_ups

    for each in caches.all():
        each.clear()
    yield
    # A background refresh (or a webhook's follow-up, a push, which renders the page's live
    # parts, or a page's call that outlived its budget) still running would fill the next
    # test's cache (or log with this test's settings gone, its keys no longer redacted): it
    # ends first. Each may start another (a refresh that changed what
    # plays pushes it; a push's rendering may start a refresh), so until all are quiet.
    for _ in range(3):
        assert wait_for_follow_ups(timeout=30), "a webhook's follow-up did not end"
        assert wait_for_pushes(timeout=30), "a push did not end"
        assert wait_for_refreshes(timeout=30), "a background refresh did not end"
        assert wait_for_page_parts(timeout=30), "a page's call to Trakt or TMDB did not end"
    for each in caches.all():
        each.clear()


@pytest.fixture(autouse=True)
def no_pushes(request, monkeypatch):
    """In-process tests render no pushes unless they ask for them (`pushes`): a push renders
    the page's live parts in a thread of its own, on a database connection of its own, which
    cannot see the test's transaction (and would keep the mirror it read as empty). Servers
    the tests start (gunicorn) push as in production."""
    if "pushes" not in request.fixturenames:
        from profile.live import push

        monkeypatch.setattr(push, "_renderer", None)


@pytest.fixture
def pushes():
    """The page's live parts are pushed (rendered in the push thread) as in production."""
    from profile.live import push

    assert push._renderer is not None, "the app installs the renderer at start-up"
    yield push


@receiver(setting_changed)
def _csp_follows_the_image_host(setting, value, **kwargs):
    """The CSP's img-src is derived from TMDB_IMAGE_URL when settings load; a test that
    points TMDB_IMAGE_URL at a fake upstream gets the matching policy, as a restart would."""
    if setting == "TMDB_IMAGE_URL":
        from django.conf import settings

        from nowwatching.settings import content_security_policy

        settings.CONTENT_SECURITY_POLICY = content_security_policy(value)


# --- No secret in anything the suite logged -----------------------------------------------------
#
# Every record of every logger, at every level, is kept (formatted as a handler would write
# it) for the whole session, with the logs of every gunicorn the tests started; at the end
# the session fails if any of them holds a known secret. Records are redacted as they are made
# (nowwatching/redaction.py), so this checks what any handler could ever write.


class _EverythingLogged(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted: keep its raw parts
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r}")


_everything = _EverythingLogged()


@pytest.fixture(scope="session", autouse=True)
def log_everything_at_debug():
    """Every logger logs DEBUG into the session's record; the console stays as quiet as
    configured."""
    root = logging.getLogger()
    level = root.level
    for handler in root.handlers:
        if handler.level < level:
            handler.setLevel(level)
    root.addHandler(_everything)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(_everything)
    root.setLevel(level)


def known_secrets() -> tuple[str, ...]:
    from tests import fake_upstream
    from tests.servers import SITE_ENV

    return (*SECRETS, fake_upstream.TRAKT_KEY, fake_upstream.TMDB_KEY, SITE_ENV["SECRET_KEY"])


def leaked_lines(lines) -> list[str]:
    secrets = known_secrets()
    return [line for line in lines if any(secret in line for secret in secrets)]


def pytest_sessionfinish(session, exitstatus):
    from tests.servers import SITE_LOGS

    logged = _everything.lines + [line for log in SITE_LOGS for line in log.splitlines()]
    leaks = leaked_lines(logged)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"log scan: {len(logged)} lines logged (in-process at DEBUG, and {len(SITE_LOGS)} "
            f"gunicorn logs), {len(leaks)} with a secret"
        )
    if leaks:
        if reporter is not None:
            for line in leaks[:20]:
                reporter.write_line(f"SECRET IN A LOG LINE: {line[:300]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
