"""`import_trakt_export`: Trakt's data export merged into the mirror, and every way an export
can be wrong refused with one line, leaving the mirror as it was."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from profile.mirror import sync
from profile.mirror.importing import ExportRefused, import_export
from profile.mirror.importing import archive as archive_module
from profile.mirror.state import state
from profile.models import Play, Rating, Title, TraktSnapshot
from tests import mirror
from tests.mirror.exports import AS_OF_DATE, export, fake_state, sections, write_zip
from tests.servers import ROOT, site_env


@pytest.fixture
def owner(settings):
    settings.DEMO_MODE = False
    settings.TRAKT_USERNAME = "sean"
    settings.TRAKT_API_KEY = ""
    settings.TIME_ZONE = "UTC"


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_trakt_export", *map(str, args), "--no-tmdb", stdout=out)
    return out.getvalue()


@pytest.mark.both_databases
@pytest.mark.django_db
def test_an_export_fills_the_mirror_and_says_what_it_holds(owner, tmp_path):
    path = export(tmp_path, history=600, ratings=30)

    lines = run(path).strip().splitlines()

    assert Play.objects.count() == 600
    assert Rating.objects.count() == 30 + 12  # the fake's rated movies and shows
    assert lines[-1] == "600 plays (600 new), 42 ratings; data as of 2026-11-30"
    snapshot = TraktSnapshot.objects.row().get()
    assert snapshot.slug == "sean" and snapshot.data_as_of == AS_OF_DATE
    assert snapshot.stats["movies"]["plays"] > 0
    assert state().backfilled_at is not None


@pytest.mark.both_databases
@pytest.mark.django_db
def test_importing_twice_changes_nothing(owner, tmp_path):
    path = export(tmp_path, history=300, ratings=10)
    run(path)
    before = list(Play.objects.order_by("history_id").values_list("history_id", "watched_at"))
    titles, ratings, version = Title.objects.count(), Rating.objects.count(), state().version

    last = run(path).strip().splitlines()[-1]

    assert last.startswith("300 plays (0 new)")
    after = list(Play.objects.order_by("history_id").values_list("history_id", "watched_at"))
    assert after == before
    assert (Title.objects.count(), Rating.objects.count()) == (titles, ratings)
    assert state().version == version + 1  # only the ratings, written again, move it


@pytest.mark.django_db
def test_every_page_of_a_section_is_read_in_order_and_a_single_page_has_no_suffix(owner, tmp_path):
    paged = export(tmp_path, history=260, page=100)  # watched-history-1..3.json
    names = zipfile.ZipFile(paged).namelist()
    assert {"watched-history-1.json", "watched-history-3.json", "ratings-movies.json"} <= set(names)

    run(paged)

    assert Play.objects.count() == 260


@pytest.mark.django_db
def test_a_folder_of_the_export_imports_as_the_zip_does(owner, tmp_path):
    run(export(tmp_path, history=120, folder=True))

    assert Play.objects.count() == 120


@pytest.mark.django_db
def test_import_then_sync_counts_every_play_once(owner, tmp_path, reset_fake):
    reset_fake.set(history=500, ratings=20)
    run(export(tmp_path, history=500, ratings=20))

    outcome = sync.sync(pace=False)
    assert outcome.kind == "incremental" and outcome.new == 0
    assert Play.objects.count() == 500

    # The daily full walk (the job's first, after an import) brings what the export left out.
    full = sync.sync(full=True, pace=False)
    assert (full.new, full.removed, Play.objects.count()) == (0, 0, 500)
    assert not Play.objects.filter(runtime=0).exists()


@pytest.mark.django_db
def test_an_export_keeps_what_the_sync_knew_of_runtimes(owner, tmp_path, reset_fake):
    reset_fake.set(history=200)
    sync.sync(pace=False)
    minutes = sum(Play.objects.values_list("runtime", flat=True))
    runtimes = dict(Title.objects.values_list("pk", "runtime"))

    run(export(tmp_path, history=200, ratings=0))

    assert sum(Play.objects.values_list("runtime", flat=True)) == minutes
    assert {pk: dict(Title.objects.values_list("pk", "runtime"))[pk] for pk in runtimes} == runtimes


@pytest.mark.django_db
def test_errors_listed_by_trakt_are_said(owner, tmp_path):
    errors = [
        {"endpoint": "users/sean/ratings/episodes", "error": "HTTP 502", "fetchedPages": 1,
         "totalPages": 3},
    ]  # fmt: skip
    out = run(export(tmp_path, history=10, extra=[("_errors.json", errors)]))

    assert "Trakt could not export users/sean/ratings/episodes (1 of 3 pages): HTTP 502." in out


# --- Refused: one line, and the mirror as it was -------------------------------------------------


def refused(path, *args) -> str:
    with pytest.raises(CommandError) as raised:
        run(path, *args)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def mirrored(owner):
    film = mirror.title("Kept", tmdb_id=1)
    mirror.play(film, "2025-01-01T20:00:00Z", history_id=1)
    state()  # the row exists
    from profile.models import SyncState

    SyncState.objects.row().update(owner="https://api.trakt.tv/users/sean")
    return film


def assert_as_it_was():
    assert list(Play.objects.values_list("history_id", flat=True)) == [1]


@pytest.mark.django_db
def test_another_users_export_is_refused_unless_replace(mirrored, settings, tmp_path):
    settings.TRAKT_USERNAME = ""
    settings.TRAKT_API_URL = "https://api.trakt.tv"
    path = export(tmp_path, history=20, slug="someone-else")

    message = refused(path)

    assert "@sean's history" in message and "--replace" in message
    assert_as_it_was()
    run(path, "--replace")
    assert Play.objects.count() == 20 and not Play.objects.filter(history_id=1, runtime=120)


@pytest.mark.django_db
def test_an_export_of_another_person_than_trakt_username_is_refused(owner, tmp_path):
    message = refused(export(tmp_path, history=5, slug="alex"))

    assert message == (
        "This export is @alex's, but TRAKT_USERNAME is sean: set TRAKT_USERNAME to alex to "
        "show this export, or import sean's own."
    )


def hostile_zip(tmp_path, members: dict[str, bytes], name="trakt-export-sean.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def good_members(history=20) -> dict[str, bytes]:
    return {
        name: json.dumps(body).encode()
        for name, body in sections(fake_state(history=history, ratings=0))
    }


@pytest.mark.django_db
def test_a_truncated_zip_is_refused(mirrored, tmp_path):
    whole = hostile_zip(tmp_path, good_members(300)).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])

    assert "damaged or cut short" in refused(cut)
    assert_as_it_was()


@pytest.mark.django_db
def test_a_member_whose_bytes_are_damaged_refuses_the_whole_export(mirrored, tmp_path):
    path = hostile_zip(tmp_path, good_members(300))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("watched-history-2.json")
    # The member's compressed bytes, past its local header: damaged, its CRC cannot match.
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(path.read_bytes())
    data[start + 40 : start + 48] = bytes(8)
    path.write_bytes(bytes(data))

    message = refused(path)

    assert "damaged or cut short" in message or "not valid JSON" in message
    assert_as_it_was()


@pytest.mark.parametrize("name", ["../evil.json", "/etc/watched-history.json", "a/../../b.json"])
@pytest.mark.django_db
def test_a_path_climbing_out_is_refused(mirrored, tmp_path, name):
    members = good_members() | {name: b"[]"}

    assert "holds a path outside itself" in refused(hostile_zip(tmp_path, members))
    assert_as_it_was()


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_before_it_expands(mirrored, tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "MEMBER_MAX_BYTES", 1024 * 1024)
    members = good_members() | {"watched-history.json": b"[" + b" " * (3 * 1024 * 1024) + b"]"}

    assert "expands past" in refused(hostile_zip(tmp_path, members))
    assert_as_it_was()


@pytest.mark.django_db
def test_a_member_lying_about_its_size_is_read_no_further_than_the_cap(
    mirrored, tmp_path, monkeypatch
):
    monkeypatch.setattr(archive_module, "MEMBER_MAX_BYTES", 64 * 1024)
    path = hostile_zip(tmp_path, good_members() | {"lists-x.json": b"[" + b" " * 200_000 + b"]"})
    # Say it is small: the reader must not believe it.
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    while central != -1:
        if data[central + 46 : central + 46 + 11] == b"lists-x.json"[:11]:
            data[central + 24 : central + 28] = (100).to_bytes(4, "little")
        central = data.rfind(b"PK\x01\x02", 0, central)
    path.write_bytes(bytes(data))

    message = refused(path)

    assert "expands past" in message or "damaged or cut short" in message
    assert_as_it_was()


@pytest.mark.django_db
def test_malformed_json_is_refused_and_nothing_is_written(mirrored, tmp_path):
    members = good_members(400) | {"ratings-movies.json": b'[{"rated_at": '}

    assert refused(hostile_zip(tmp_path, members)) == (
        "ratings-movies.json in trakt-export-sean.zip is not valid JSON."
    )
    assert_as_it_was()


@pytest.mark.parametrize(
    "content, says",
    [
        (b"not a zip at all", "is not a ZIP file"),
        (None, "is not a Trakt export"),
    ],
)
@pytest.mark.django_db
def test_what_is_not_an_export_is_refused(mirrored, tmp_path, content, says):
    if content is None:
        path = hostile_zip(tmp_path, {"photo.jpg": b"\xff\xd8", "notes.txt": b"hello"})
    else:
        path = tmp_path / "export.zip"
        path.write_bytes(content)

    assert says in refused(path)
    assert_as_it_was()


@pytest.mark.django_db
def test_a_missing_path_is_refused(owner, tmp_path):
    assert refused(tmp_path / "nowhere.zip") == f"{tmp_path / 'nowhere.zip'} does not exist."


@pytest.mark.django_db
def test_demo_mode_refuses_to_import(settings, tmp_path):
    settings.DEMO_MODE = True

    with pytest.raises(ExportRefused, match="DEMO_MODE is on"):
        import_export(export(tmp_path, history=5))


@pytest.mark.django_db
def test_an_item_of_an_odd_shape_costs_itself_only(owner, tmp_path):
    files = list(sections(fake_state(history=50, ratings=0)))
    files = [
        (
            name,
            body + [{"id": "x", "type": "movie"}] if name.startswith("watched-history") else body,
        )
        for name, body in files
    ]
    out = run(write_zip(tmp_path / "trakt-export-sean.zip", files))

    assert Play.objects.count() == 50
    assert "1 item of a shape the site cannot read were left out." in out


@pytest.mark.django_db
def test_the_local_days_of_imported_plays_follow_time_zone(owner, settings, tmp_path):
    settings.TIME_ZONE = "Pacific/Auckland"
    run(export(tmp_path, history=30))

    play = Play.objects.order_by("history_id").first()
    local = play.watched_at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
    assert play.local_date == local.date() and play.local_hour == local.hour
    assert play.watched_at.utcoffset() == timedelta(0)


@pytest.mark.django_db
def test_trakt_status_says_what_was_imported_and_that_trakt_is_not_asked(owner, settings, tmp_path):
    settings.EXPORT_ONLY = True
    run(export(tmp_path, history=40))
    out = io.StringIO()

    call_command("trakt_status", stdout=out)

    text = out.getvalue()
    assert "Trakt calls use: none: no Trakt API app" in text
    assert "Imported: 40 plays (40 new)" in text


def test_a_history_of_100000_plays_is_read_one_page_at_a_time(tmp_path):
    path = write_zip(tmp_path / "trakt-export-sean.zip", sections(fake_state(history=100_000)))
    # The peak of resident memory of this process alone (VmHWM: getrusage's would count the
    # test process it was forked from).
    code = (
        "from pathlib import Path; from profile.mirror.importing.archive import Archive\n"
        f"archive = Archive.open({str(path)!r}); archive.check()\n"
        "plays = sum(1 for _ in archive.items('watched-history'))\n"
        "status = Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0]\n"
        "print(plays, int(status) // 1024)"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=site_env({}), capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    plays, peak_mb = map(int, result.stdout.split()[-2:])
    assert plays == 100_000
    # Read a page at a time: the whole history as objects would be several hundred MB.
    assert peak_mb < 150, result.stdout
