"""export_history and /api/export/...: the mirror taken anywhere, streamed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from profile.mirror.exporting import LETTERBOXD
from profile.models import Comment, Favorite, ListItem, UserList, WatchlistItem
from tests import mirror

TRICKY = 'Amélie, "the" fabulous\nsecond line · 千と千尋'


@pytest.fixture
def library(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    film = mirror.title(TRICKY, kind="movie", tmdb_id=194, imdb_id="tt0211915", year=2001)
    other = mirror.title("Plain, Film", kind="movie", tmdb_id=None, imdb_id="", year=None)
    show = mirror.show("Series", tmdb_id=1396, imdb_id="tt0903747", year=2008)
    pilot = mirror.episode(show, 1, 1, title="Pilot, the first")
    # 23:30 UTC is the next day in Berlin.
    mirror.play(film, "2024-12-31T23:30:00Z", history_id=1)
    mirror.play(pilot, "2025-01-02T20:00:00Z", history_id=2)
    mirror.play(film, "2025-03-01T20:00:00Z", history_id=3)
    mirror.play(other, "2025-03-02T20:00:00Z", history_id=4)
    mirror.rate(film, 9)
    return film


def export(fmt: str, *more) -> str:
    out = io.StringIO()
    call_command("export_history", "--format", fmt, *more, stdout=out)
    return out.getvalue()


@pytest.mark.both_databases
@pytest.mark.django_db
def test_letterboxd_reads_one_row_per_movie_play_with_the_owners_day(library):
    rows = list(csv.DictReader(io.StringIO(export("letterboxd"))))

    assert list(rows[0]) == LETTERBOXD
    assert [(r["Title"], r["WatchedDate"], r["Rewatch"], r["Rating10"]) for r in rows] == [
        (TRICKY, "2025-01-01", "false", "9"),
        (TRICKY, "2025-03-01", "true", "9"),
        ("Plain, Film", "2025-03-02", "false", ""),
    ]
    assert rows[0]["tmdbID"] == "194" and rows[0]["imdbID"] == "tt0211915"
    assert rows[2]["Year"] == "" and rows[2]["tmdbID"] == ""


@pytest.mark.both_databases
@pytest.mark.django_db
def test_the_csv_holds_every_play_and_survives_a_round_trip(library):
    rows = list(csv.DictReader(io.StringIO(export("csv"))))

    assert [r["history_id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["title"] == TRICKY  # commas, quotes, a newline and CJK intact
    assert rows[0]["local_date"] == "2025-01-01" and rows[0]["local_time"] == "00:30"
    assert (rows[1]["type"], rows[1]["season"], rows[1]["episode"]) == ("episode", "1", "1")
    assert rows[1]["episode_title"] == "Pilot, the first"
    assert rows[1]["imdb_id"] == "tt0903747"


@pytest.mark.django_db
def test_the_json_holds_everything_in_its_documented_shape(library):
    body = json.loads(export("json"))

    assert body["format"] == "nowwatching-export" and body["version"] == 1
    assert body["time_zone"] == "Europe/Berlin"
    assert [p["id"] for p in body["plays"]] == [1, 2, 3, 4]
    assert {t["title"] for t in body["titles"]} >= {TRICKY, "Series", "Plain, Film"}
    assert body["episodes"][0]["show_trakt_id"] == body["titles"][2]["ids"]["trakt"]
    assert body["ratings"][0]["rating"] == 9
    assert date.fromisoformat(body["plays"][0]["local_date"]) == date(2025, 1, 1)


@pytest.fixture
def shelves(library):
    """A favourite, a watchlisted show, a public list, a review (with a rating) and a shout."""
    show = mirror.show("Wanted Show", tmdb_id=7)
    Favorite.objects.create(title=library, rank=1, notes="Always.")
    WatchlistItem.objects.create(kind="show", trakt_id=show.trakt_id, title=show, rank=1)
    listed = UserList.objects.create(trakt_id=5, slug="rainy", name='Rainy, "Sundays"')
    ListItem.objects.create(list=listed, kind="movie", trakt_id=library.trakt_id, title=library)
    review = dict(kind="movie", title=library, review=True, user_rating=9)
    Comment.objects.create(trakt_id=1, text=TRICKY, created_at="2025-01-02T00:00Z", **review)
    Comment.objects.create(trakt_id=2, kind="show", title=show, text="A shout.",
                           created_at="2025-01-03T00:00Z")  # fmt: skip
    mirror.changed()
    return library


@pytest.mark.django_db
def test_letterboxd_carries_the_review_with_the_first_play_of_a_film(shelves):
    rows = list(csv.DictReader(io.StringIO(export("letterboxd"))))

    assert [r["Review"] for r in rows] == [TRICKY, "", ""]  # a rewatch does not repeat it


@pytest.mark.django_db
def test_the_json_holds_the_library_too(shelves):
    body = json.loads(export("json"))

    assert [(f["type"], f["notes"]) for f in body["favorites"]] == [("movie", "Always.")]
    assert [w["type"] for w in body["watchlist"]] == ["show"]
    [only] = body["lists"]
    assert only["name"] == 'Rainy, "Sundays"' and only["items"][0]["title_trakt_id"] == (
        shelves.trakt_id
    )
    assert [(c["review"], c["text"], c["rating"]) for c in body["comments"]] == [
        (True, TRICKY, 9),
        (False, "A shout.", None),
    ]


@pytest.mark.django_db
def test_an_output_file_appears_whole(library, tmp_path):
    target = tmp_path / "films.csv"

    assert export("letterboxd", "--output", str(target)) == ""

    assert target.read_text().startswith("Title,Year,imdbID")
    assert [p.name for p in tmp_path.iterdir()] == ["films.csv"]


@pytest.mark.django_db
def test_an_unwritable_output_is_one_clear_line(library, tmp_path):
    with pytest.raises(CommandError, match="cannot be written"):
        export("csv", "--output", str(tmp_path / "missing" / "x.csv"))


# --- /api/export/... ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "name"),
    [
        ("/api/export/history.csv", "text/csv", "history.csv"),
        ("/api/export/history.json", "application/json", "history.json"),
        ("/api/export/letterboxd.csv", "text/csv", "letterboxd.csv"),
    ],
)
@pytest.mark.django_db
def test_the_exports_download_streamed_and_revalidate(client, library, path, kind, name):
    response = client.get(path)

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith(kind)
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith(f'-{name}"')
    body = b"".join(response.streaming_content).decode()
    assert "Plain, Film" in body
    again = client.get(path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # A new play is a new export.
    mirror.play(library, "2025-04-01T20:00:00Z", history_id=5)
    mirror.changed()
    assert client.get(path, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 200


@pytest.mark.django_db
def test_an_export_head_says_what_a_get_would(client, library):
    get = client.get("/api/export/history.csv")
    head = client.head("/api/export/history.csv")

    assert head.status_code == 200 and head["ETag"] == get["ETag"]
    assert head["Content-Disposition"] == get["Content-Disposition"]
