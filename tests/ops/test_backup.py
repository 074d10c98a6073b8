"""`manage.py backup` and `restore` (profile/ops/backup.py): a consistent copy while the
site runs, and the same figures after backup, wipe, restore; on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from profile.mirror.review import year_review
from profile.mirror.state import forget_mirror, mirror
from profile.models import Play, SyncState, TraktToken
from profile.ops.backup import BackupError, backup, backup_kind, restore
from profile.signin import storage
from profile.signin.sealing import unseal
from tests import mirror as rows

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]

ACCESS = "access-TOKEN-in-a-backup-3b9e"
REFRESH = "refresh-TOKEN-in-a-backup-77c1"


def a_history(plays: int = 40) -> None:
    film = rows.title("The Quiet Orbit", genres=("science-fiction",), rating=7.5, votes=40)
    show = rows.show("Saltmarsh", genres=("drama",))
    start = datetime(2025, 3, 1, 20, tzinfo=UTC)
    for n in range(plays):
        at = start + timedelta(days=n, hours=n % 5)
        rows.play(rows.episode(show, 1, n + 1) if n % 3 else film, at)
    SyncState.objects.row().update(version=7, last_success_at=start)
    forget_mirror()


def signed_in() -> None:
    now = datetime.now(UTC)
    TraktToken.objects.create(
        access_token_encrypted=storage.seal(ACCESS),
        refresh_token_encrypted=storage.seal(REFRESH),
        issued_at=now,
        expires_at=now + timedelta(days=90),
        signed_in_at=now,
        user_slug="sean",
    )


def figures() -> dict:
    forget_mirror()
    review = year_review(2025)
    return {
        "plays": Play.objects.count(),
        "review": repr(review),
        "sign-in": TraktToken.objects.values_list("user_slug", flat=True).first(),
    }


def wipe() -> None:
    """Every table of the app emptied, as a lost database would be (restore then brings
    back the rows; a fresh, migrated database is what a new server starts from)."""
    with transaction.atomic():
        for model in (Play, TraktToken, SyncState):
            model.objects.all().delete()
        for name in ("profile_rating", "profile_episode", "profile_title_genres", "profile_title",
                     "profile_genre"):  # fmt: skip
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {name}")
    forget_mirror()
    assert figures()["plays"] == 0


def test_backup_wipe_restore_gives_the_same_figures(tmp_path):
    a_history()
    signed_in()
    before = figures()

    made = backup(tmp_path / "copy")
    wipe()
    restore(made.path)

    assert figures() == before
    assert unseal(TraktToken.objects.get().access_token_encrypted) == ACCESS


def test_the_tokens_stay_encrypted_in_the_backup(tmp_path):
    signed_in()

    made = backup(tmp_path / "copy")

    content = readable(made.path)
    assert ACCESS.encode() not in content and REFRESH.encode() not in content
    sealed = TraktToken.objects.get().access_token_encrypted
    assert sealed.encode() in content  # the sealed form is there instead


def readable(path: Path) -> bytes:
    """The backup's content, uncompressed: pg_dump's custom format compresses its data."""
    if backup_kind(path) == "sqlite":
        return path.read_bytes()
    done = subprocess.run(["pg_restore", "--file=-", str(path)], capture_output=True, check=True)
    return done.stdout


def test_a_backup_is_readable_by_its_owner_only_and_named_by_the_time_in_a_folder(tmp_path):
    made = backup(tmp_path)

    assert made.path.parent == tmp_path and made.path.name.startswith("nowwatching-")
    assert made.path.suffix == {"sqlite": ".sqlite3", "postgresql": ".dump"}[made.kind]
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert backup_kind(made.path) == made.kind
    assert [p.name for p in tmp_path.iterdir()] == [made.path.name]  # no partial file left


def test_a_backup_taken_while_a_sync_writes_is_one_moment_of_the_database(tmp_path):
    """Writes of 5 plays per transaction go on during the backup: the copy holds whole
    transactions only."""
    film = rows.title("Busy")
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        try:
            while not stop.is_set() and n < 2000:
                with transaction.atomic():
                    for _ in range(5):
                        n += 1
                        rows.play(film, datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=n))
                written.append(n)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not written:  # the writer is under way
            stop.wait(0.01)
        made = backup(tmp_path / "copy")
    finally:
        stop.set()
        thread.join(30)
    wipe()
    restore(made.path)

    count = Play.objects.count()
    assert count > 0 and count % 5 == 0


def test_restore_moves_the_mirrors_version_past_both_databases(tmp_path):
    a_history(3)  # version 7
    made = backup(tmp_path / "copy")
    SyncState.objects.row().update(version=20)

    restore(made.path)

    forget_mirror()
    assert mirror().version == 21


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")

    with pytest.raises(BackupError, match="not a backup made by"):
        restore(junk)
    with pytest.raises(BackupError, match="Cannot read"):
        restore(tmp_path / "missing.dump")


def test_restore_refuses_a_backup_of_the_other_database(tmp_path):
    other = tmp_path / "other"
    other.write_bytes(
        b"PGDMP..." if connection.vendor == "sqlite" else b"SQLite format 3\x00" + bytes(100)
    )

    with pytest.raises(BackupError, match="restore it into a"):
        restore(other)


def test_backup_into_a_folder_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(CommandError, match="There is no folder"):
        call_command("backup", str(tmp_path / "nowhere" / "copy"))


def test_the_commands_say_what_they_did_and_restore_migrates(tmp_path, capsys):
    a_history(5)
    call_command("backup", str(tmp_path / "copy"))
    said = capsys.readouterr().out
    assert "Backed up the" in said and "Keep SECRET_KEY apart" in said

    wipe()
    call_command("restore", str(tmp_path / "copy"), interactive=False)

    assert "Restored the" in capsys.readouterr().out
    assert Play.objects.count() == 5


def test_restore_asks_before_replacing_the_database(tmp_path, monkeypatch):
    a_history(2)
    backup(tmp_path / "copy")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    with pytest.raises(CommandError, match="Nothing was restored"):
        call_command("restore", str(tmp_path / "copy"))


@pytest.fixture(autouse=True)
def _fresh_paths(tmp_path: Path):
    yield
    connections.close_all()


def test_a_sqlite_database_that_does_not_exist_is_not_backed_up_as_an_empty_one(
    tmp_path, monkeypatch
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: a PostgreSQL database exists once its server answers")
    missing = tmp_path / "never-made.sqlite3"  # a volume the site never ran on
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(missing))
    try:
        with pytest.raises(BackupError, match="There is no database at"):
            backup(tmp_path / "copy")
    finally:
        connection.close()

    assert not missing.exists() and not (tmp_path / "copy").exists()


def test_a_backup_restores_into_a_sqlite_database_that_does_not_exist_yet(tmp_path, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL's database is made by its server")
    a_history(4)
    before = figures()
    made = backup(tmp_path / "copy")
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "new-server.sqlite3"))
    try:
        restore(made.path)
        after = figures()
    finally:
        connection.close()

    assert after == before
