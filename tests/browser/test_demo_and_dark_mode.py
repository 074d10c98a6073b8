"""The demo is honest about its links, and the dark scheme keeps the demo strip and the
banner's edge readable."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LIVE, colour_luminance, contrast, pixel_luminance, screenshot

BANNER = "[data-banner-slot] [data-banner]"
OFF_SITE = re.compile(r"trakt\.tv/(movies|shows|users)|themoviedb\.org/(movie|tv)|imdb\.com/title")


def luminance(page, selector: str, property: str) -> float:
    return colour_luminance(page.locator(selector), property)


@pytest.fixture
def demo_page(open_page, settings):
    settings.DEMO_MODE = True

    def open_demo(clock=False, **context_args):
        page = open_page(**context_args)
        if clock:
            page.clock.install()
        page.goto("/")
        expect(page.locator(f'{BANNER} [data-slot="title"]')).to_have_text("The Quiet Orbit")
        return page

    return open_demo


def assert_no_link_leaves_for_a_made_up_id(page) -> None:
    hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if OFF_SITE.search(href)], hrefs


def test_demo_links_are_placeholders_that_say_so(demo_page):
    page = demo_page()

    links = page.locator(f"{BANNER} [data-link]:visible")
    expect(links).not_to_have_count(0)  # what the links look like is still shown
    for link in links.all():
        assert link.get_attribute("href") is None  # a placeholder, not a link
    expect(page.locator(f"{BANNER} .banner-demo-note")).to_contain_text("made up")
    assert_no_link_leaves_for_a_made_up_id(page)
    screenshot(page, "demo-links")


def test_demo_links_stay_placeholders_after_a_live_update(demo_page):
    page = demo_page(clock=True)
    # The banner swapped in from /live, not the one rendered with the page.
    page.locator("[data-banner-slot]").evaluate("slot => slot.replaceChildren()")

    with page.expect_response(LIVE):
        page.clock.fast_forward("00:16")

    expect(page.locator(f'{BANNER} [data-slot="title"]')).to_have_text("The Quiet Orbit")
    expect(page.locator(f"{BANNER} [data-link]:visible")).not_to_have_count(0)
    assert_no_link_leaves_for_a_made_up_id(page)


def test_a_real_profile_keeps_its_links(open_page, fake):
    page = open_page()
    page.goto("/")

    expect(page.locator(f'{BANNER} a[data-link="trakt"]')).to_have_attribute(
        "href", "https://trakt.tv/movies/super-8-2011"
    )
    expect(page.locator(f"{BANNER} .banner-demo-note")).to_have_count(0)


def test_the_demo_strip_is_dark_and_readable_in_the_dark_scheme(demo_page):
    page = demo_page(color_scheme="dark")

    strip = luminance(page, ".demo-banner", "backgroundColor")
    page_background = luminance(page, "body", "backgroundColor")
    text = luminance(page, ".demo-banner", "color")
    assert strip < 0.05, "the strip should not be a bright band on a dark page"
    assert contrast(strip, page_background) < 2
    assert contrast(text, strip) >= 7
    screenshot(page, "demo-dark")


def test_the_demo_strip_stays_yellow_in_the_light_scheme(demo_page):
    page = demo_page(color_scheme="light")

    background = page.locator(".demo-banner").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(255, 243, 196)"


@pytest.mark.parametrize("backdrop", [True, False], ids=["backdrop", "plain"])
def test_the_banner_has_a_visible_edge_in_the_dark_scheme(open_page, fake, backdrop):
    if not backdrop:
        fake.set(tmdb_fault="404")
    page = open_page(color_scheme="dark")
    page.goto("/")
    banner = page.locator(BANNER)
    expect(banner.locator('[data-slot="title"]')).to_have_text("Super 8")
    page.locator(f"{BANNER} .live-dot").evaluate("el => el.style.visibility = 'hidden'")

    box = banner.bounding_box()
    # A row of pixels across the banner's left edge, half way down: 8 px outside, 8 inside.
    shot = page.screenshot(
        clip={"x": box["x"] - 8, "y": box["y"] + box["height"] / 2, "width": 16, "height": 1},
        animations="disabled",
    )
    row = pixel_luminance(page, shot)
    outside, edge, inside = row[:4], row[6:10], row[12:]

    assert max(contrast(e, max(outside)) for e in edge) >= 1.5, row
    assert max(contrast(e, max(inside)) for e in edge) >= 1.2, row
