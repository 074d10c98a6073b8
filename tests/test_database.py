"""The database the tests run on is the one asked for: SQLite, or PostgreSQL with --postgres."""

import contextlib
import logging
import time

import pytest
from django.db import connection
from django.db.utils import OperationalError, ProgrammingError

from nowwatching import cache_backend
from nowwatching.databases import Trouble, guard
from tests import mirror

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


def test_the_test_database_is_the_engine_asked_for(request):
    expected = "postgresql" if request.config.getoption("--postgres") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 + 1")
        assert cursor.fetchone() == (2,)


# --- The database unreadable: kept answers, two lines in the log ---------------------------------


@contextlib.contextmanager
def database_gone(tmp_path):
    """The site's database swapped for one that cannot be read (an empty SQLite file that
    nobody migrated; a PostgreSQL database that does not exist), and back on the way out."""
    settings_dict = connection.settings_dict
    name = settings_dict["NAME"]
    connection.close()
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "empty.sqlite3")
    else:
        settings_dict["NAME"] = "no_such_database"
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = name


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(cache_backend, "RETRY_SECONDS", 0.2)


def until_healthy(client, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while client.get("/healthz").json()["database"] != "ok":
        assert time.monotonic() < deadline, "the database never came back"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_database_is_one_warning_when_it_goes_and_one_when_it_is_back(
    client, settings, caplog, quick_retries, tmp_path
):
    settings.DEMO_MODE = True  # Trakt's answers without an upstream
    mirror.play(mirror.title("Super 8"), "2024-05-01T21:00:00Z")
    assert 'id="activity"' in client.get("/").content.decode()
    caplog.set_level("DEBUG")
    caplog.clear()

    with database_gone(tmp_path):
        answers = [
            (client.get("/"), client.get("/api/history"), client.get("/healthz")) for _ in range(20)
        ]
        time.sleep(0.3)  # past the retry: one probe fails again, saying nothing new
        answers.append((client.get("/"), client.get("/api/history"), client.get("/healthz")))
        down = [r for r in caplog.records if r.levelno >= logging.WARNING]
    until_healthy(client)
    back = [r for r in caplog.records if r.levelno >= logging.WARNING][len(down) :]

    for page, history, health in answers:
        assert page.status_code == 200
        assert 'id="activity"' in page.content.decode()  # the history as last read
        assert history.status_code == 503
        assert history.json()["error"]["code"] == "history_unavailable"
        assert health.json()["database"] == "degraded"
    assert [r.name for r in down] == ["nowwatching.database"], [r.getMessage() for r in down]
    reason = (
        "not set up: run manage.py migrate" if connection.vendor == "sqlite" else "cannot connect"
    )
    assert f"is unreachable ({reason})" in down[0].getMessage()
    assert [r.name for r in back] == ["nowwatching.database"]
    assert " is back after " in back[0].getMessage()
    assert client.get("/api/history").status_code == 200


def test_a_write_refused_or_a_bug_does_not_open_the_breaker():
    refused = OperationalError("attempt to write a readonly database")
    bug = ProgrammingError('syntax error at or near "SELEC"')

    assert not guard.reported(refused)
    assert not guard.reported(bug)
    assert guard.reported(guard.Unavailable(Trouble.UNREACHABLE))
    assert guard.reported(OperationalError("no such table: profile_play"))


@pytest.mark.django_db(transaction=True)
def test_the_sync_stopped_by_a_locked_database_resumes_where_it_stopped(
    reset_fake, quick_retries, monkeypatch
):
    from profile.mirror import sync
    from profile.mirror.sync.walk import Walk
    from profile.models import Play

    reset_fake.set(history=600)
    lock = mirror.another_writer()
    held = contextlib.ExitStack()
    # The other writer is done by the time the sync notes its failure (else each of its
    # closing writes would wait its own timeout too).
    record_failure = Walk.record_failure
    monkeypatch.setattr(
        Walk, "record_failure", lambda walk, error: (held.close(), record_failure(walk, error))
    )

    with held, pytest.raises(sync.SyncFailed) as failed:
        # The first page is written: then another writer holds the database.
        sync.sync(pace=False, progress=mirror.AtPage(1, lambda: held.enter_context(lock)))
    deadline = time.monotonic() + 15
    while guard.status() != "ok":  # as the background job does: its next try, later
        assert time.monotonic() < deadline, "the database never came back"
        time.sleep(0.05)
    resumed = sync.sync(pace=False)

    assert failed.value.reason.startswith("The database is locked by another writer")
    assert resumed.plays == Play.objects.count() == 600
