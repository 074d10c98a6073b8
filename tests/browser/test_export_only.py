"""A site with no Trakt API app, in a real browser: the owner's imported export (profile,
history, charts, year pages), "data as of" its date, no banner, no demo, no call to Trakt."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_profile_page import assert_accessible
from tests.mirror.exports import export

PLAYS = 900
STEP_MINUTES = 20 * 60  # about two years of plays, the last one an hour ago


@pytest.fixture
def imported(fake, settings, tmp_path):
    settings.TRAKT_API_KEY = ""
    settings.TRAKT_CLIENT_SECRET = ""
    settings.DEMO_MODE = False
    settings.EXPORT_ONLY = True
    settings.TRAKT_USERNAME = "sean"
    origin = datetime.now(UTC) - timedelta(hours=1) - (PLAYS - 1) * timedelta(minutes=STEP_MINUTES)
    path = export(
        tmp_path,
        history=PLAYS,
        ratings=40,
        history_step_minutes=STEP_MINUTES,
        history_origin=origin.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        favorites=3,
        watchlist=5,
        lists=[{"name": "Rainy Sundays"}, {"name": "Hidden", "privacy": "private"}],
        comments=6,
    )
    call_command("import_trakt_export", str(path), stdout=io.StringIO())
    return fake


def test_the_export_only_site_shows_the_owners_imported_history(open_page, imported):
    page = open_page()
    page.goto("/")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Sean Rudford")
    expect(page.locator(".data-as-of")).to_contain_text("data as of 30 November 2026")
    expect(page.locator("#activity-title")).to_be_visible()
    expect(page.locator("[data-banner]")).to_have_count(0)
    expect(page.get_by_text("Demo data")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "export-only")

    # The year in review of the imported plays.
    year = datetime.now(UTC).year - 1
    page.goto(f"/year/{year}")
    expect(page.locator(".year-title")).to_have_text(str(year))

    # The diary, a title's page, the watchlist and the lists: from the export too.
    page.goto("/history")
    expect(page.locator("main")).to_contain_text("Sean")
    first = page.locator("main a[href^='/movies/'], main a[href^='/shows/']").first
    first.click()
    expect(page.locator("h1")).not_to_have_text("")
    assert page.url.split("/")[-2] in ("movies", "shows")
    page.goto("/watchlist")
    expect(page.locator("main")).to_contain_text("Wanted Film")
    page.goto("/lists")
    expect(page.locator("main")).to_contain_text("Rainy Sundays")
    expect(page.locator("main")).not_to_contain_text("Hidden")

    assert imported.calls("trakt:") == 0
