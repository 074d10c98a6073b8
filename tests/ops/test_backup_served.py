"""A backup taken while the site serves visitors restores to the same pages: the site under
gunicorn with its mirror synced from the fake, `manage.py backup` while clients load it,
then a new, empty database, `manage.py restore`, and the site served from that."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from tests.fake_upstream import FakeUpstream
from tests.servers import gunicorn, manage, migrated_sqlite

PAGES = [
    "/year/2023",
    "/api/year/2023",
    "/api/history?limit=100&page=2",
    "/api/activity?from=2023-01-01&to=2023-01-31",
]


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        return answer.read()


def test_a_backup_taken_under_load_restores_to_the_same_pages(tmp_path: Path):
    (tmp_path / "site").mkdir()
    (tmp_path / "new").mkdir()
    with FakeUpstream() as fake:
        fake.set(history=300, ratings=10)
        env = fake.env() | {"DATABASE_URL": migrated_sqlite(tmp_path / "site")}
        synced = manage(env, "sync_trakt", "--no-pace", "--no-posters")
        assert synced.returncode == 0, synced.stderr
        backup = tmp_path / "nowwatching.sqlite3"

        with gunicorn(env) as site:
            before = {path: read(site.url + path) for path in PAGES}
            done, failures, answered = threading.Event(), [], []

            def visitor():
                while not done.is_set():
                    for path in ["/", *PAGES]:
                        try:
                            read(site.url + path)
                            answered.append(path)
                        except Exception as error:  # noqa: BLE001 (any failure is the finding)
                            failures.append(f"{path}: {error}")

            visitors = [threading.Thread(target=visitor) for _ in range(4)]
            for thread in visitors:
                thread.start()
            try:
                made = manage(env, "backup", str(backup))
            finally:
                done.set()
                for thread in visitors:
                    thread.join(30)

        assert made.returncode == 0, made.stderr
        assert not failures and answered
        # A new server: an empty, migrated database, the backup restored into it.
        env["DATABASE_URL"] = migrated_sqlite(tmp_path / "new")
        restored = manage(env, "restore", "--noinput", str(backup))
        assert restored.returncode == 0, restored.stderr
        with gunicorn(env) as site:
            after = {path: read(site.url + path) for path in PAGES}

    assert after == before
