"""A PostgreSQL that hangs, for real: the site under gunicorn (as `make serve` runs it) on a
throwaway PostgreSQL server of its own, whose tables are held by LOCK TABLE, then whose
processes are all frozen with SIGSTOP (the kernel still accepts connections: nothing answers).

A visitor waits a bounded time (about 2 s: nowwatching/databases/guard.py), then what was
kept is served; /healthz says "database": "degraded" meanwhile; the log says when it went
and when it came back, not once per request. Each answer is waited for under a deadline far
above the limit: a hang fails the test, the machine's load does not."""

import json
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.fake_upstream import FakeUpstream
from tests.servers import frozen_postgres, gunicorn, manage, postgres_server

# Far above the visitors' 2 s: only a request that hangs (as before the guard) misses it.
HANG = 15.0


def get(url: str) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=HANG) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    return status, body, time.monotonic() - started


def database(site) -> str:
    return json.loads(get(site.url + "/healthz")[1])["database"]


def until(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.1)


def served_while_hung(site, took: list[float]) -> None:
    """The page (its history as last read), the JSON kept from Trakt, the history API's 503,
    and /healthz degraded: every answer, none hung."""
    for _ in range(3):
        status, page, seconds = get(site.url + "/")
        assert status == 200
        assert 'id="activity"' in page and "Generated" in page
        took.append(seconds)
        status, body, seconds = get(site.url + "/api/profile")
        assert status == 200 and json.loads(body)["profile"]["username"]
        took.append(seconds)
        status, body, seconds = get(site.url + "/api/history")
        assert status == 503 and json.loads(body)["error"]["code"] == "history_unavailable"
        took.append(seconds)
    until(lambda: database(site) == "degraded")


@pytest.fixture
def site():
    with postgres_server() as url, FakeUpstream(history=400, watching="idle") as fake:
        env = fake.env() | {"DATABASE_URL": url}
        assert manage(env, "migrate", "--noinput").returncode == 0
        synced = manage(env, "sync_trakt", "--no-pace", "--no-posters")
        assert synced.returncode == 0, synced.stderr
        with gunicorn(env, workers=1) as served:
            served.database_url = url
            yield served


def test_a_hung_postgresql_costs_a_visitor_seconds_then_kept_answers_are_served(site):
    assert get(site.url + "/")[0] == 200  # the history and Trakt's answers, kept
    assert get(site.url + "/api/profile")[0] == 200
    assert database(site) == "ok"
    took: list[float] = []

    with psycopg.connect(site.database_url) as locker:
        locker.execute(
            "LOCK TABLE profile_syncstate, profile_play, profile_trakttoken IN ACCESS EXCLUSIVE MODE"
        )
        served_while_hung(site, took)
    until(lambda: database(site) == "ok")
    assert get(site.url + "/api/history")[0] == 200

    with frozen_postgres(site.database_url):
        served_while_hung(site, took)
    until(lambda: database(site) == "ok")
    assert get(site.url + "/api/history")[0] == 200

    log = site.log_text()
    print("answers while hung (s):", " ".join(f"{seconds:.2f}" for seconds in took))
    assert "Traceback" not in log
    went = log.count("nowwatching.database The database at ")
    back = log.count(" is back after ")
    # Two outages, one process: a line when each went and one when it came back (a probe that
    # meets the lock's end half way may add a pair), not one per request.
    assert 2 <= back <= 4 and went == 2 * back, log
