"""The background job: when it syncs, what it survives, posters, and the thread in a server."""

import json
import logging
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from nowwatching.databases import Trouble, guard
from profile.live import answers as live_answers
from profile.mirror import schedule, sync
from profile.mirror import state as mirror_state
from profile.mirror.posters import fill_posters
from profile.models import SyncState, Title
from tests import mirror
from tests.fake_upstream import FakeUpstream
from tests.servers import ROOT, gunicorn, site_env

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def state(**fields) -> SyncState:
    defaults = {
        "backfilled_at": NOW - timedelta(days=3),
        "last_full_at": NOW - timedelta(hours=2),
        "last_attempt_at": NOW - timedelta(minutes=3),
    }
    return SyncState(**(defaults | fields))


# --- When a sync is due -------------------------------------------------------------------------


def test_nothing_is_due_within_the_interval(settings):
    settings.HISTORY_SYNC_MINUTES = 15

    assert schedule.due(NOW, state(), None) is None


def test_an_incremental_is_due_every_history_sync_minutes(settings):
    settings.HISTORY_SYNC_MINUTES = 15

    plan = schedule.due(NOW, state(last_attempt_at=NOW - timedelta(minutes=15)), None)

    assert plan == schedule.Plan(False, "every 15 minutes")


def test_a_change_of_what_plays_makes_a_sync_due_at_once(settings):
    settings.HISTORY_SYNC_MINUTES = 15
    changed = (NOW - timedelta(seconds=20)).timestamp()

    assert schedule.due(NOW, state(), changed) == schedule.Plan(False, "what plays changed")
    # A change the last sync already followed is not news.
    old = (NOW - timedelta(minutes=5)).timestamp()
    assert schedule.due(NOW, state(), old) is None


def test_a_change_of_what_plays_before_the_first_backfill_starts_the_backfill(settings):
    settings.HISTORY_SYNC_MINUTES = 15
    fresh = SyncState(last_attempt_at=NOW - timedelta(minutes=1))

    assert schedule.due(NOW, fresh, NOW.timestamp()) == schedule.Plan(False, "backfill")


def test_a_full_sync_is_due_once_a_day(settings):
    settings.HISTORY_SYNC_MINUTES = 15
    stale = state(last_full_at=NOW - timedelta(days=1), last_attempt_at=NOW - timedelta(hours=1))

    assert schedule.due(NOW, stale, None) == schedule.Plan(True, "daily full sync")


def test_the_first_run_backfills_and_an_interrupted_walk_continues(settings):
    settings.HISTORY_SYNC_MINUTES = 15

    assert schedule.due(NOW, SyncState(), None) == schedule.Plan(False, "backfill")
    walking = state(walk_kind="full", walk_next_page=4, last_attempt_at=NOW - timedelta(hours=1))
    assert schedule.due(NOW, walking, None) == schedule.Plan(False, "continuing the full")


def test_a_walk_cut_short_by_a_restart_goes_on_after_a_minute_not_an_interval(settings):
    settings.HISTORY_SYNC_MINUTES = 15
    cut = {"walk_kind": "backfill", "walk_next_page": 7, "backfilled_at": None}

    soon = state(**cut, last_attempt_at=NOW - timedelta(seconds=30))
    later = state(**cut, last_attempt_at=NOW - timedelta(minutes=1))

    assert schedule.due(NOW, soon, None) is None
    assert schedule.due(NOW, later, None) == schedule.Plan(False, "continuing the backfill")
    assert schedule.due(NOW, state(last_attempt_at=NOW - timedelta(minutes=1)), None) is None


def test_nothing_is_due_while_another_sync_holds_the_lease(settings):
    settings.HISTORY_SYNC_MINUTES = 15
    busy = state(lease_until=NOW + timedelta(minutes=1), last_attempt_at=None)

    assert schedule.due(NOW, busy, NOW.timestamp()) is None


def test_zero_minutes_means_never(settings):
    settings.HISTORY_SYNC_MINUTES = 0

    assert schedule.due(NOW, SyncState(), NOW.timestamp()) is None
    assert schedule.start() is None


# --- Noticing what plays ------------------------------------------------------------------------


def test_the_watching_answer_notes_only_changes(settings, reset_fake):
    settings.WATCHING_CACHE_SECONDS = 0
    # The fake reports a start relative to now: keep now still while the same film plays.
    with time_machine.travel(datetime.now(UTC), tick=False):
        live_answers.get_watching()
        first = cache.get(schedule.WATCHING_CHANGED_KEY)

        live_answers.get_watching()
        assert cache.get(schedule.WATCHING_CHANGED_KEY) == first  # the same film: no change

    reset_fake.set(watching="idle")
    live_answers.get_watching()
    assert cache.get(schedule.WATCHING_KEY) == "idle"
    assert cache.get(schedule.WATCHING_CHANGED_KEY) > first


# --- One tick -----------------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.django_db
def test_a_tick_syncs_when_due_and_then_not_again(settings, reset_fake):
    reset_fake.set(history=30)
    settings.HISTORY_SYNC_MINUTES = 15
    job = schedule.HistoryJob()

    job.tick()
    calls = reset_fake.calls("trakt:")
    job.tick()

    assert mirror_state.state().backfilled_at is not None
    assert Title.objects.exists()
    assert reset_fake.calls("trakt:") == calls


@pytest.mark.django_db
def test_a_tick_survives_anything_with_one_line_in_the_log(settings, monkeypatch, caplog):
    settings.HISTORY_SYNC_MINUTES = 15

    def boom(**kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(sync, "sync", boom)
    job = schedule.HistoryJob()

    with caplog.at_level(logging.WARNING, logger="profile.mirror.schedule"):
        job.tick()

    assert [r.getMessage() for r in caplog.records] == [
        "history job: unexpected ZeroDivisionError: a bug"
    ]


@pytest.mark.parametrize("where", ["state", "sync"])
def test_an_outage_of_the_database_is_the_guards_to_report_not_each_ticks(
    settings, monkeypatch, caplog, where
):
    settings.HISTORY_SYNC_MINUTES = 15
    gone = guard.Unavailable(Trouble.UNREACHABLE)

    def unreadable(*args, **kwargs):
        if where == "sync":
            raise sync.database_failed(gone)
        raise gone

    monkeypatch.setattr(schedule, "due", lambda *args: schedule.Plan(False, "backfill"))
    monkeypatch.setattr(schedule, "state", unreadable if where == "state" else lambda: None)
    monkeypatch.setattr(sync, "sync", unreadable)

    with caplog.at_level(logging.INFO, logger="profile.mirror.schedule"):
        schedule.HistoryJob().tick()

    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "cannot be reached" in caplog.records[0].getMessage()


@pytest.mark.django_db
def test_a_failed_sync_is_one_warning(settings, reset_fake, caplog):
    reset_fake.set(trakt_fault="500")
    settings.HISTORY_SYNC_MINUTES = 15
    job = schedule.HistoryJob()
    job.stopping.set()  # no waiting between tries: stop at the first retry

    with caplog.at_level(logging.WARNING, logger="profile.mirror.schedule"):
        job.tick()

    assert mirror_state.state().lease_owner == ""
    assert len([r for r in caplog.records if r.name == "profile.mirror.schedule"]) <= 1


# --- Posters ------------------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.django_db
def test_posters_are_looked_up_for_the_titles_on_show(reset_fake):
    film = mirror.title("Film", tmdb_id=550)
    no_tmdb = mirror.title("No TMDB id")
    mirror.play(film, "2025-05-01T20:00:00Z")
    mirror.play(no_tmdb, "2025-05-02T20:00:00Z")
    unseen = mirror.title("Never played", tmdb_id=551)

    done = fill_posters(pause=0)

    film.refresh_from_db()
    no_tmdb.refresh_from_db()
    unseen.refresh_from_db()
    assert done == 2
    assert film.poster_path.endswith(".jpg") and film.poster_checked_at is not None
    assert no_tmdb.poster_path == "" and no_tmdb.poster_checked_at is not None
    assert unseen.poster_checked_at is None  # not on any page
    assert reset_fake.calls("tmdb:/movie/550/images") == 1
    assert fill_posters(pause=0) == 0  # nothing left to do


@pytest.mark.django_db
def test_tmdb_failing_leaves_the_posters_for_later(reset_fake):
    reset_fake.set(tmdb_fault="500")
    film = mirror.title("Film", tmdb_id=550)
    mirror.play(film, "2025-05-01T20:00:00Z")

    assert fill_posters(pause=0) == 0
    film.refresh_from_db()
    assert film.poster_checked_at is None


# --- The thread in a real server ----------------------------------------------------------------


def test_commands_never_start_the_job():
    code = "from profile.mirror import schedule; print(schedule._job)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=site_env({"HISTORY_SYNC_MINUTES": "15", "DEMO_MODE": "true"}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip().splitlines()[-1] == "None", result.stderr


def test_a_served_site_mirrors_the_history_by_itself_one_sync_at_a_time():
    with FakeUpstream(history=300) as fake:
        env = fake.env() | {"HISTORY_SYNC_MINUTES": "15"}
        with gunicorn(env, workers=2) as site:
            deadline = time.monotonic() + 60
            total = 0
            while time.monotonic() < deadline and total < 300:
                with urllib.request.urlopen(site.url + "/api/history?limit=1") as answer:
                    total = json.load(answer)["total"]
                time.sleep(0.5)
            time.sleep(6)  # both workers' jobs have looked by now
            log = site.log_text()

    assert total == 300
    # One backfill of two pages (and the count of what Trakt lists at its end), by one of the
    # two workers' jobs.
    assert fake.calls("trakt:/users/sean/history") == 3
    assert "Traceback" not in log


@pytest.mark.django_db
def test_without_tmdb_credentials_posters_are_not_asked_for_nor_warned_about(
    settings, reset_fake, caplog
):
    settings.TMDB_API_KEY = settings.TMDB_READ_ACCESS_TOKEN = ""
    film = mirror.title("Film", tmdb_id=550)
    mirror.play(film, "2025-05-01T20:00:00Z")

    with caplog.at_level(logging.WARNING):
        assert fill_posters(pause=0) == 0

    assert reset_fake.calls("tmdb:") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
