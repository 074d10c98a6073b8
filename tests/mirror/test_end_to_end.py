"""Done as a user would: keys and URLs pointed at the loopback fake, `manage.py sync_trakt`
mirrors a paginated history, and the page, the year in review and the API (under gunicorn)
show it."""

import json
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.contract import Answer, assert_matches_openapi
from tests.fake_upstream import FakeUpstream
from tests.servers import ROOT, gunicorn, migrated_sqlite, site_env

PLAYS = 700
STEP = timedelta(hours=30)  # about two and a half years


def get(url: str) -> Answer:
    with urllib.request.urlopen(url, timeout=30) as response:
        return Answer.read(response)


def test_sync_trakt_mirrors_the_history_and_the_site_shows_it():
    origin = datetime.now(UTC) - timedelta(hours=2) - (PLAYS - 1) * STEP
    state = {
        "history": PLAYS,
        "history_step_minutes": int(STEP.total_seconds() // 60),
        "history_origin": origin.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "ratings": 40,
        "watching": "idle",
    }
    year = datetime.now(UTC).year - 1
    with FakeUpstream(**state) as fake, tempfile.TemporaryDirectory() as tmp:
        env = fake.env() | {"DATABASE_URL": migrated_sqlite(Path(tmp))}
        synced = subprocess.run(
            [sys.executable, "manage.py", "sync_trakt", "--no-pace"],
            cwd=ROOT,
            env=site_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        with gunicorn(env) as site:
            page = get(site.url + "/").body.decode()
            review = get(f"{site.url}/year/{year}").body.decode()
            history = get(site.url + "/api/history?limit=5")
            activity = get(site.url + "/api/activity")
            year_json = get(f"{site.url}/api/year/{year}")
            log = site.log_text()

    assert synced.returncode == 0, synced.stderr
    assert (
        synced.stdout.splitlines()[-1]
        == f"{PLAYS} plays, {PLAYS} new, 0 removed, 11 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )
    assert page.count('class="poster-card"') == 12
    for section in ('id="activity"', 'id="when"', 'id="taste"', f'href="/year/{year}"'):
        assert section in page
    assert f'<h1 class="year-title">{year}</h1>' in review
    assert_matches_openapi(history, "/api/history")
    assert json.loads(history.body)["total"] == PLAYS
    assert_matches_openapi(activity, "/api/activity")
    assert sum(day["plays"] for day in json.loads(activity.body)["days"]) > 0
    assert_matches_openapi(year_json, "/api/year/{yyyy}")
    assert "Traceback" not in log
