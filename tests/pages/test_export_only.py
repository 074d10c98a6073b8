"""The site without a Trakt API app (TRAKT_USERNAME set, no TRAKT_API_KEY): the owner's imported
export, not the demo, and never a call to Trakt."""

from __future__ import annotations

import io
from html import unescape

import pytest
from django.core.management import call_command

from profile.live.cache import wait_for_refreshes
from profile.models import Play, Title
from tests.mirror.exports import export


@pytest.fixture
def export_only(settings, reset_fake):
    # TMDB and Trakt at the fake, and no Trakt API app: Trakt must hear nothing
    settings.TRAKT_API_KEY = ""
    settings.TRAKT_CLIENT_SECRET = ""
    settings.DEMO_MODE = False
    settings.EXPORT_ONLY = True
    settings.TRAKT_USERNAME = "sean"
    return reset_fake


def import_it(tmp_path, *options):
    path = export(tmp_path, history=100, ratings=5)
    call_command("import_trakt_export", str(path), *options, stdout=io.StringIO())


@pytest.fixture
def imported(export_only, tmp_path, db):
    import_it(tmp_path, "--no-tmdb")
    return export_only


def test_the_page_shows_the_imported_export_and_says_as_of_when(client, imported):
    html = unescape(client.get("/").content.decode())

    assert "Sean Rudford" in html  # the export's profile
    assert "Demo data" not in html
    assert "From Trakt's data export: data as of" in html and "30 November 2026" in html
    assert 'id="activity-title"' in html  # the history's charts
    assert "data-banner" not in html.split('data-fragment="banner">')[1][:40]  # no banner
    wait_for_refreshes()
    assert imported.calls("trakt:") == 0


@pytest.mark.django_db
def test_the_imported_plays_get_their_runtimes_genres_and_posters_from_tmdb(export_only, tmp_path):
    import_it(tmp_path)  # asks TMDB for what the export leaves out

    played = Title.objects.filter(plays__isnull=False).distinct()
    with_tmdb = played.filter(tmdb_id__isnull=False)

    assert not Play.objects.filter(runtime=0, title__in=with_tmdb).exists()
    assert not with_tmdb.filter(genres__isnull=True).exists()
    assert not with_tmdb.filter(poster_path="").exists()
    # A show without a TMDB id keeps its plays at 0 minutes: still plays.
    assert Play.objects.filter(runtime=0).exclude(title__in=with_tmdb).exists()


def test_the_api_answers_from_the_export(client, imported):
    watching = client.get("/api/watching")
    profile = client.get("/api/profile")
    stats = client.get("/api/stats")
    history = client.get("/api/history?limit=1")

    assert watching.status_code == 200 and watching.json() == {"isWatching": False}
    assert profile.json()["profile"]["slug"] == "sean"
    assert stats.status_code == 200
    assert history.json()["total"] == 100
    wait_for_refreshes()
    assert imported.calls("trakt:") == 0


def test_the_card_names_the_newest_imported_play(client, imported):
    svg = client.get("/api/watching.svg").content.decode()

    assert "Last watched" in svg.upper() or "LAST WATCHED" in svg


@pytest.mark.django_db
def test_before_any_import_the_page_says_how_to_import(client, export_only):
    html = unescape(client.get("/").content.decode())

    assert "import_trakt_export" in html
    assert "Demo data" not in html
    assert export_only.calls("trakt:") == 0
