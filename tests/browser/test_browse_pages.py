"""The pages a visitor browses, in a real browser on the demo's data: the diary, a movie's and
a show's page, the watchlist, the lists and search; light, dark, 360 px wide, axe-clean; and
from a chart, by keyboard or by tap, into the diary. The README's screenshots come from here."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from profile.mirror import diary, sync
from profile.mirror.posters import fill_posters
from tests.browser.conftest import screenshot
from tests.browser.test_history_charts import scroll_through
from tests.browser.test_profile_page import assert_accessible

PHONE = {"viewport": {"width": 360, "height": 800}}


@pytest.fixture
def demo(settings, fake):
    """The demo's history and library, mirrored by the sync, posters looked up."""
    settings.DEMO_MODE = True
    sync.sync()
    fill_posters(pause=0, limit=300)


def no_sideways_scrolling(page, width: int = 360) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_diary_groups_plays_by_day_and_its_filters_combine(open_page, demo):
    page = open_page()
    page.goto("/")  # a visitor's first page: the owner's profile is kept since
    page.get_by_role("navigation", name="Browse").get_by_role("link", name="Diary").click()

    expect(page.get_by_role("heading", name="Diary", level=1)).to_be_visible()
    days = page.locator(".diary-day")
    expect(days.first).to_be_visible()
    assert page.locator(".diary-entry").count() == diary.PAGE
    # Every title opens its page on this site.
    first = page.locator(".diary-title").first
    assert re.fullmatch(r"/(movies|shows)/[\w.-]+", first.get_attribute("href"))
    scroll_through(page)
    thumbnails = page.locator(".diary-poster img")
    assert thumbnails.count() > 0
    assert thumbnails.evaluate_all("all => all.filter(i => !i.naturalWidth).length") == 0
    expect(page.get_by_text("Alex rated it").first).to_be_visible()
    screenshot(page, "diary")
    assert_accessible(page)

    page.get_by_label("Type").select_option("movie")
    page.get_by_label("Genre").select_option("drama")
    page.get_by_role("button", name="Show").click()
    chips = page.get_by_role("list", name="Filters")
    expect(chips.get_by_role("link")).to_have_text(
        [re.compile("^Movies"), re.compile("^Drama"), "All plays"]
    )
    expect(page.locator(".diary-sub").first).to_have_text(re.compile(r"^\d{4}$"))  # a year
    # Older pages by keyset, and back.
    page.get_by_role("link", name="Older ›").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    page.get_by_role("link", name="‹ Newer").click()
    expect(page.get_by_role("link", name="‹ Newer")).to_have_count(0)
    # A chip removes its filter.
    chips.get_by_role("link", name=re.compile("^Drama")).click()
    expect(page.get_by_role("list", name="Filters").get_by_role("link")).to_have_count(1)

    dark = open_page(color_scheme="dark", **PHONE)
    dark.goto("/history?type=episode")
    no_sideways_scrolling(dark)
    screenshot(dark, "diary-phone-dark")
    assert_accessible(dark)


def test_from_the_heatmap_into_the_diary_by_keyboard(open_page, demo):
    page = open_page()
    page.goto("/")
    heatmap = page.locator("svg.chart-svg--heatmap")

    page.locator("#activity .chart-scroll").focus()
    page.keyboard.press("Tab")  # the chart is one stop: its newest day
    today = heatmap.locator("a.chart-part").last
    expect(today).to_be_focused()
    tip = page.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip).to_have_text(today.locator("title").text_content())

    page.keyboard.press("ArrowLeft")  # the same weekday, a week before
    week_before = heatmap.locator("a.chart-part").nth(-8)
    expect(week_before).to_be_focused()
    figures = week_before.locator("title").text_content()
    expect(tip).to_have_text(figures)
    screenshot(page, "heatmap-focus", full_page=False)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/history\?day=\d{4}-\d{2}-\d{2}$"))
    day = date.fromisoformat(page.url.rsplit("=", 1)[1])
    assert day.strftime("%a") in figures and str(day.year) in figures
    expect(page.get_by_role("list", name="Filters")).to_contain_text(f"{day:%B %Y}")
    if "nothing" not in figures:
        plays = int(re.search(r"(\d+) plays?", figures)[1])
        expect(page.locator(".diary-entry")).to_have_count(plays)


def test_from_the_weekdays_chart_into_the_diary_by_tap(open_page, demo):
    page = open_page(has_touch=True, is_mobile=True, **PHONE)
    page.goto("/")
    friday = page.locator('figure[aria-labelledby="weekdays-caption"] a.chart-part').nth(4)
    friday.scroll_into_view_if_needed()

    friday.tap()  # a first tap shows the figures, and goes nowhere
    expect(page.locator(".chart-tip")).to_have_text(re.compile(r"^Fri: [\d,]+ plays$"))
    assert page.url.endswith("/")
    friday.tap()  # a second one follows the link

    expect(page).to_have_url(re.compile(r"/history\?weekday=5$"))
    expect(page.get_by_role("list", name="Filters")).to_contain_text("Fridays")


def test_the_year_page_leads_by_month_into_the_diary(open_page, demo):
    year = date.today().year - 1
    page = open_page()
    page.goto(f"/year/{year}")

    march = page.locator("svg.chart-svg--months a.chart-part").nth(2)
    march.focus()
    expect(page.locator(".chart-tip")).to_have_text(re.compile(r"^March: "))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/history\?month={year}-03$"))
    expect(page.get_by_role("list", name="Filters")).to_contain_text(f"March {year}")


def test_a_movies_page(open_page, demo):
    page = open_page()
    page.goto("/")
    page.locator("#favorites").get_by_role("link", name="The Quiet Orbit").click()

    expect(page).to_have_url(re.compile(r"/movies/the-quiet-orbit-2024$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("The Quiet Orbit")
    expect(page.locator(".title-ratings")).to_contain_text("Alex rated it 9 · community 7.6")
    expect(page.locator(".title-backdrop")).to_have_js_property("complete", True)
    expect(page.locator(".title-shelves")).to_contain_text("One of Alex's favourites")
    expect(page.get_by_role("heading", name=re.compile(r"^Watched \d+ times?$"))).to_be_visible()
    for name in ("Trakt", "IMDb", "TMDB"):
        link = page.locator(".title-links a", has_text=name)
        if link.count():
            expect(link).to_have_attribute("target", "_blank")
    scroll_through(page)
    screenshot(page, "title-movie")
    assert_accessible(page)

    page.get_by_role("link", name="Every play in the diary ›").click()
    expect(page).to_have_url(re.compile(r"/history\?movie=the-quiet-orbit-2024$"))
    expect(page.locator(".diary-title").first).to_have_text("The Quiet Orbit")


def test_a_shows_page_folds_its_spoilers(open_page, demo):
    page = open_page(color_scheme="dark")
    page.goto("/shows/saltmarsh")

    expect(page.locator(".season").first).to_be_visible()
    expect(page.locator(".episode-cell--once, .episode-cell--more").first).to_be_visible()
    spoiler = page.locator("details.spoiler").first
    expect(spoiler).not_to_have_attribute("open", "")
    expect(spoiler.locator("p")).to_be_hidden()
    screenshot(page, "title-show-dark")
    assert_accessible(page)
    spoiler.locator("summary").click()
    expect(spoiler.locator("p")).to_contain_text("the moment Mara cuts the rope")

    phone = open_page(**PHONE)
    phone.goto("/shows/saltmarsh")
    no_sideways_scrolling(phone)
    screenshot(phone, "title-show-phone")
    assert_accessible(phone)


def test_the_watchlist_and_the_lists(open_page, demo):
    page = open_page()
    page.goto("/")
    page.get_by_role("navigation", name="Browse").get_by_role("link", name="Watchlist").click()

    cards = page.locator(".poster-card")
    expect(cards).to_have_count(10)
    expect(cards.first).to_contain_text("The Lantern Archive")
    expect(page.get_by_text("Season 3")).to_be_visible()
    expect(page.locator(".page-sum")).to_have_text(
        "10 titles Alex wants to watch, in Alex's order."
    )
    scroll_through(page)
    screenshot(page, "watchlist")
    assert_accessible(page)

    page.get_by_role("navigation", name="Browse").get_by_role("link", name="Lists").click()
    expect(page.locator(".list-card h2")).to_have_text(
        ["Rainy Sundays", "Best of 2024", "Films about the sea"]
    )
    expect(page.get_by_text("Guilty")).to_have_count(0)
    scroll_through(page)
    screenshot(page, "lists")
    assert_accessible(page)
    page.get_by_role("link", name="Rainy Sundays").click()
    expect(page.locator(".poster-title").first).to_have_text("1. Paper Lanterns")
    assert_accessible(page)

    for path in ("/watchlist", "/lists", "/lists/rainy-sundays"):
        dark = open_page(color_scheme="dark", **PHONE)
        dark.goto(path)
        no_sideways_scrolling(dark)
        assert_accessible(dark)


def test_search_as_you_type_and_without_script(open_page, demo):
    page = open_page()
    page.goto("/")
    page.get_by_label("Search the titles").fill("lantern")
    page.get_by_label("Search the titles").press("Enter")  # the header's box, any page
    # The one watched first, then the one on the watchlist.
    expect(page.locator(".search-hit a")).to_have_text(["Paper Lanterns", "The Lantern Archive"])
    page.goto("/search")

    page.get_by_label(re.compile("^Search every title")).press_sequentially("quie", delay=30)
    hits = page.locator(".search-hit")
    # Both watched, so the full-text rank decides; what was typed is in the address.
    expect(hits.get_by_role("link")).to_have_text(["Quiet Machines", "The Quiet Orbit"])
    expect(page).to_have_url(re.compile(r"/search\?q=quie$"))
    page.get_by_label(re.compile("^Search every title")).press_sequentially("t orbit", delay=30)
    expect(hits.get_by_role("link")).to_have_text(["The Quiet Orbit"])
    screenshot(page, "search")
    assert_accessible(page)
    hits.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The Quiet Orbit")

    plain = open_page(java_script_enabled=False, **PHONE)
    plain.goto("/search")
    plain.get_by_label(re.compile("^Search every title")).fill("LANTERN ARCH")
    plain.get_by_role("button", name="Search").last.click()
    expect(plain.locator(".search-hit").first).to_contain_text("The Lantern Archive")
    expect(plain).to_have_url(re.compile(r"/search\?q=LANTERN\+ARCH$"))
    # (axe runs as a script: the page with script was checked above.)


def test_the_profile_leads_with_favourites_and_reviews(open_page, demo):
    page = open_page()
    page.goto("/")

    expect(page.locator("#favorites .poster-title")).to_have_text(
        ["The Cartographer's Daughter", "Quiet Machines", "Saltmarsh",
         "The Orchard Keeper's Song", "Brass & Steam", "The Quiet Orbit"]
    )  # fmt: skip
    reviews = page.locator("#reviews .comment")
    expect(reviews).to_have_count(3)
    expect(reviews.nth(1).locator("details.spoiler")).to_have_count(1)
    # Every poster and title of the page opens a page of this site.
    hrefs = page.locator(".poster-card a, .ranked-name a, .disagree a, .comment-on a")
    outside = [h for h in hrefs.evaluate_all("all => all.map(a => a.getAttribute('href'))")
               if not h.startswith("/")]  # fmt: skip
    assert outside == []
    scroll_through(page)
    screenshot(page, "profile-library")
    assert_accessible(page)


def test_an_unknown_title_is_a_page_that_offers_the_search(open_page, demo):
    page = open_page()
    response = page.goto("/movies/the-lantern-archiv-2026")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not in the history")
    expect(page.get_by_label(re.compile("^Search every title"))).to_have_value("the lantern archiv")
    expect(page.locator(".search-hit").first).to_contain_text("The Lantern Archive")
    assert_accessible(page)


def test_nothing_in_a_page_leaves_the_site_unless_asked(open_page, demo):
    # Only the Trakt, IMDb and TMDB links point elsewhere, and they open a tab of their own.
    page = open_page()
    for path in ("/", "/history", "/shows/saltmarsh", "/watchlist", "/lists/rainy-sundays"):
        page.goto(path)
        external = page.locator("main a[href^='http']")
        for n in range(external.count()):
            expect(external.nth(n)).to_have_attribute("target", "_blank")
            expect(external.nth(n)).to_have_text(re.compile(r"Trakt|IMDb|TMDB|@"))
