"""The history sections and the year in review in a real browser: each chart drawn, light
and dark, 360 px wide, axe-clean; the screenshots of the README come from here."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from profile.mirror import sync
from profile.mirror.posters import fill_posters
from tests.browser.conftest import screenshot
from tests.browser.test_profile_page import assert_accessible

PLAYS = 1500
STEP_MINUTES = 9 * 60  # about three years of plays, the last one an hour ago


@pytest.fixture
def mirrored(fake):
    """The fake's generated history (and ratings), mirrored by the sync, posters looked up."""
    origin = datetime.now(UTC) - timedelta(hours=1) - (PLAYS - 1) * timedelta(minutes=STEP_MINUTES)
    fake.set(
        watching="idle",
        history=PLAYS,
        history_step_minutes=STEP_MINUTES,
        history_origin=origin.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        ratings=60,
    )
    sync.sync(pace=False)
    fill_posters(pause=0, limit=300)
    return fake


def scroll_through(page) -> None:
    """Brings every lazy poster in: scrolls to the bottom and back."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")


def test_every_chart_is_drawn_with_its_numbers(open_page, mirrored):
    page = open_page()
    page.goto("/")

    expect(page.locator("#recent .poster-card")).to_have_count(12)
    heatmap = page.locator("svg.chart-svg--heatmap")
    # A group of links into the diary (an image would hide them), named by its figures.
    expect(heatmap).to_have_attribute("role", "group")
    assert heatmap.get_attribute("aria-label").startswith("Plays per day from ")
    assert 365 <= heatmap.locator("use").count() <= 371  # a square a day
    assert heatmap.locator("use.heat-4").count() > 0
    # Each day's square is drawn (the shared square it places), names its day and opens it.
    newest = heatmap.locator("a.chart-part").last
    assert newest.locator("use").bounding_box()["width"] > 5
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}: .+", newest.locator("title").text_content())
    assert re.fullmatch(r"/history\?day=\d{4}-\d{2}-\d{2}", newest.get_attribute("href"))
    for name in ("hours", "weekdays", "spread", "ratings"):
        chart = page.locator(f'figure[aria-labelledby="{name}-caption"] svg')
        expect(chart).to_be_visible()
        assert chart.locator("rect.bar").count() > 0, name
    expect(page.locator("#taste .ranked-row").first).to_be_visible()
    expect(page.locator("#years .year-links a")).not_to_have_count(0)
    # The numbers behind a chart are a click away.
    numbers = page.locator('figure[aria-labelledby="weekdays-caption"] details')
    numbers.locator("summary").click()
    expect(numbers.locator("tbody tr")).to_have_count(7)
    scroll_through(page)
    posters = page.locator("#recent img.poster")
    assert posters.count() > 0
    assert posters.first.evaluate("img => img.complete && img.naturalWidth") > 0
    assert posters.first.get_attribute("loading") == "lazy"
    screenshot(page, "history")
    assert_accessible(page)


def test_the_charts_read_in_the_dark(open_page, mirrored):
    light = open_page()
    light.goto("/")
    dark = open_page(color_scheme="dark")
    dark.goto("/")

    fill = "el => getComputedStyle(el).fill"
    cell = "svg.chart-svg--heatmap use.heat-4 >> nth=0"
    assert light.locator(cell).evaluate(fill) == "rgb(143, 10, 32)"
    assert dark.locator(cell).evaluate(fill) == "rgb(255, 138, 155)"
    text = dark.locator('figure[aria-labelledby="hours-caption"] svg text >> nth=0')
    assert text.evaluate(fill) == "rgb(169, 176, 192)"  # the muted text colour, on dark
    scroll_through(dark)
    screenshot(dark, "history-dark")
    assert_accessible(dark)


def test_a_phone_gets_the_history_without_sideways_scrolling(open_page, mirrored):
    page = open_page(viewport={"width": 360, "height": 800})
    page.goto("/")

    expect(page.locator("#activity")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The heatmap scrolls inside its own box, starting at the newest weeks.
    scroller = page.locator("#activity .chart-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    expect(scroller).to_have_attribute("tabindex", "0")
    newest = page.locator("svg.chart-svg--heatmap use").last
    box, frame = newest.bounding_box(), scroller.bounding_box()
    assert frame["x"] <= box["x"] <= frame["x"] + frame["width"]
    scroll_through(page)
    screenshot(page, "history-phone")
    assert_accessible(page)


def test_the_year_in_review(open_page, mirrored):
    year = datetime.now(UTC).year - 1
    page = open_page()
    page.goto(f"/year/{year}")

    expect(page.locator("h1")).to_have_text(str(year))
    months = page.locator("svg.chart-svg--months")
    assert months.get_attribute("aria-label").startswith("Time watched per month: Jan")
    expect(page.get_by_role("heading", name="Longest binge")).to_be_visible()
    expect(page.get_by_text("First of the year")).to_be_visible()
    assert_accessible(page)

    dark = open_page(color_scheme="dark", viewport={"width": 360, "height": 800})
    dark.goto(f"/year/{year}")
    assert dark.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(dark)


def test_the_empty_mirror_says_the_history_is_on_its_way(open_page, fake):
    fake.set(watching="idle")
    page = open_page()
    page.goto("/")

    expect(page.locator("#recent")).to_contain_text("being fetched from Trakt")
    assert_accessible(page)


def test_the_demo_shows_every_chart_from_its_own_history(open_page, settings):
    settings.DEMO_MODE = True
    sync.sync()
    fill_posters(pause=0, limit=300)
    page = open_page()
    page.goto("/")

    expect(page.get_by_role("note")).to_contain_text("Demo data")
    for section in ("recent", "activity", "when", "taste", "years"):
        expect(page.locator(f"#{section}")).to_be_visible()
    scroll_through(page)
    posters = page.locator("#recent img.poster")
    assert posters.first.evaluate("img => img.naturalWidth") > 0
    screenshot(page, "demo-history")
    assert_accessible(page)


def test_the_demo_year_in_review(open_page, settings):
    settings.DEMO_MODE = True
    sync.sync()
    fill_posters(pause=0, limit=300)
    year = datetime.now(UTC).year - 1
    page = open_page()
    page.goto(f"/year/{year}")

    expect(page.locator(".binge")).to_contain_text("episodes in a row")
    scroll_through(page)
    screenshot(page, "year")
    assert_accessible(page)

    dark = open_page(color_scheme="dark", viewport={"width": 360, "height": 800})
    dark.goto(f"/year/{year}")
    assert dark.evaluate("document.documentElement.scrollWidth") <= 360
    scroll_through(dark)
    screenshot(dark, "year-phone-dark")
    assert_accessible(dark)


# --- Every chart readable, every bar true, at a phone's width and a desktop's ----------------------

WIDTHS = [375, 1280]

_TEXT_SIZES = """() => [...document.querySelectorAll("svg.chart-svg text")].map(text => {
    const scale = text.getScreenCTM();
    return parseFloat(getComputedStyle(text).fontSize) * Math.hypot(scale.a, scale.b);
})"""

_BARS = """() => [...document.querySelectorAll("ol.ranked")].map(list =>
    [...list.querySelectorAll(".ranked-row")].map(row => ({
        figure: row.querySelector(".ranked-figure").textContent,
        track: row.querySelector(".meter").getBoundingClientRect().width,
        fill: row.querySelector(".meter-fill").getBoundingClientRect().width,
    })))"""

# Where "591 h" (or "45 min") is drawn across two lines, the range holding it has two boxes.
_BROKEN_TIMES = """() => [...document.querySelectorAll(".year-sum")].filter(sum => {
    const walker = document.createTreeWalker(sum, NodeFilter.SHOW_TEXT);
    let last = null;
    while (walker.nextNode()) last = walker.currentNode;
    const text = last.textContent;
    const range = document.createRange();
    range.setStart(last, text.search(/[\\d,]+ (h|min)$/));
    range.setEnd(last, text.length);
    return range.getClientRects().length > 1;
}).map(sum => sum.textContent)"""


def assert_charts_read_alike(page) -> None:
    sizes = page.evaluate(_TEXT_SIZES)
    assert sizes, "no chart text"
    assert min(sizes) >= 12 - 0.01, sorted(sizes)[:5]
    assert max(sizes) - min(sizes) < 0.01, (min(sizes), max(sizes))


def assert_longer_bars_mean_more(page) -> None:
    lists = page.evaluate(_BARS)
    assert lists, "no ranked list"
    for rows in lists:
        tracks = [row["track"] for row in rows]
        assert max(tracks) - min(tracks) < 0.5, rows  # one track, whatever the label
        # The rows come most first: each bar at most as long as the one above it.
        fills = [row["fill"] for row in rows]
        assert all(a >= b - 0.01 for a, b in zip(fills, fills[1:], strict=False)), rows


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_text_is_one_size_and_bars_are_true_on_the_profile(open_page, mirrored, width):
    page = open_page(viewport={"width": width, "height": 900})
    page.goto("/")

    assert_charts_read_alike(page)
    assert_longer_bars_mean_more(page)
    assert page.evaluate(_BROKEN_TIMES) == []
    ratings = page.locator('figure[aria-labelledby="ratings-caption"]')
    block = page.locator(".taste-block", has=ratings).bounding_box()
    grid = page.locator(".taste-grid").bounding_box()
    chart = ratings.locator("svg").bounding_box()
    # "Ratings given" fills its row of the Taste panel (with the blocks beside it, if any),
    # and its chart fills it.
    boxes = [each.bounding_box() for each in page.locator(".taste-block").all()]
    row_width = sum(box["width"] for box in boxes if box["y"] == block["y"])
    assert row_width >= grid["width"] * 0.9
    assert chart["width"] >= block["width"] - 1


@pytest.mark.parametrize("width", WIDTHS)
def test_chart_text_is_one_size_and_bars_are_true_in_the_year(open_page, mirrored, width):
    year = datetime.now(UTC).year - 1
    page = open_page(viewport={"width": width, "height": 900})
    page.goto(f"/year/{year}")

    assert_charts_read_alike(page)
    assert_longer_bars_mean_more(page)
    months = page.locator("svg.chart-svg--months").bounding_box()
    panel = page.locator("section.panel", has=page.locator("svg.chart-svg--months"))
    inner = panel.evaluate(
        "el => el.clientWidth - parseFloat(getComputedStyle(el).paddingLeft)"
        " - parseFloat(getComputedStyle(el).paddingRight)"
    )
    assert months["width"] >= inner - 1  # the month chart fills its card
