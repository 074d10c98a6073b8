"""The profile page in a real browser: states, live updates, time zones, widths, schemes, axe."""

import re
import struct
import zlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from profile import formatting
from tests.browser.conftest import LIVE, colour_luminance, contrast, pixel_luminance, screenshot
from tests.fake_upstream import FakeUpstream

BANNER = "[data-banner-slot] [data-banner]"


def slot(page, name: str):
    return page.locator(f'{BANNER} [data-slot="{name}"]')


def assert_accessible(page) -> None:
    results = Axe().run(page)
    serious = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, results.generate_report()


def seconds(clock_text: str) -> int:
    total = 0
    for part in clock_text.split(":"):
        total = total * 60 + int(part)
    return total


def test_a_movie_fills_the_banner(open_page, fake):
    page = open_page()
    page.goto("/")

    expect(slot(page, "label")).to_have_text("Now Watching")
    expect(slot(page, "title")).to_have_text("Super 8")
    expect(slot(page, "meta")).to_have_text("2011 · Movie")
    expect(page.locator(f"{BANNER} [role=progressbar]")).to_have_attribute("aria-valuenow", "33")
    expect(slot(page, "percent")).to_have_text("33%")
    expect(slot(page, "elapsed")).to_have_text("37 min")
    expect(slot(page, "total")).to_have_text("1 h 52 min")
    expect(slot(page, "left")).to_have_text("1 h 15 min left")
    backdrop = slot(page, "backdrop")
    expect(backdrop).to_have_attribute("srcset", re.compile(r"/w300/.* 300w, .*/w780/.* 780w"))
    assert backdrop.evaluate("img => getComputedStyle(img).objectFit") == "cover"
    assert backdrop.evaluate("img => img.naturalWidth") > 0
    for name in ("trakt", "imdb", "tmdb"):
        link = page.locator(f'{BANNER} a[data-link="{name}"]')
        expect(link).to_be_visible()
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator("[data-last-watched]")).to_be_hidden()
    # The bar's width is set without a style attribute (a strict CSP forbids those).
    width = page.locator(f"{BANNER} .progress-fill").evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )
    assert 0.32 < width < 0.35
    screenshot(page, "movie")
    assert_accessible(page)


def test_an_episode_shows_its_still_and_episode_links(open_page, fake):
    fake.set(watching="episode", runtime_minutes=45)
    page = open_page()
    page.goto("/")

    expect(slot(page, "title")).to_have_text("Breaking Bad")
    expect(slot(page, "subtitle")).to_have_text("S0E2 - Wedding Day")
    expect(slot(page, "meta")).to_have_text("2008 · TV")
    expect(slot(page, "thumb")).to_have_attribute("src", re.compile(r"/img/w300/"))
    expect(page.locator(f'{BANNER} a[data-link="trakt"]')).to_have_attribute(
        "href", "https://trakt.tv/shows/breaking-bad/seasons/0/episodes/2"
    )
    expect(page.locator(f'{BANNER} a[data-link="imdb"]')).to_be_hidden()
    screenshot(page, "episode")
    assert_accessible(page)


def test_a_check_in_is_labelled_as_such(open_page, fake):
    fake.set(watching="checkin")
    page = open_page()
    page.goto("/")

    expect(slot(page, "label")).to_have_text("Checked in")


def test_idle_shows_last_watched_and_no_banner(open_page, fake):
    fake.set(watching="idle")
    page = open_page()
    page.goto("/")

    expect(page.locator(BANNER)).to_have_count(0)
    expect(page.locator("[data-last-watched]")).to_contain_text(
        "Last watched: Breaking Bad S0E2 - Wedding Day · 3 hours ago"
    )
    expect(page.locator(".overview .tiles")).to_contain_text("Total time")
    screenshot(page, "idle")
    assert_accessible(page)


def test_no_backdrop_falls_back_to_a_gradient(open_page, fake):
    fake.set(tmdb_fault="500")
    page = open_page()
    page.goto("/")

    expect(slot(page, "title")).to_have_text("Super 8")
    expect(slot(page, "backdrop")).to_be_hidden()
    expect(slot(page, "thumb")).to_be_hidden()
    background = page.locator(BANNER).evaluate("el => getComputedStyle(el).backgroundImage")
    assert background.startswith("linear-gradient")
    screenshot(page, "no-backdrop")
    assert_accessible(page)


def test_links_without_an_id_are_left_out(open_page, fake):
    fake.set(watching="no_ids")
    page = open_page()
    page.goto("/")

    expect(page.locator(f'{BANNER} a[data-link="trakt"]')).to_be_visible()
    expect(page.locator(f'{BANNER} a[data-link="imdb"]')).to_be_hidden()
    expect(page.locator(f'{BANNER} a[data-link="tmdb"]')).to_be_hidden()


def test_markup_in_a_title_is_shown_as_text_and_never_run(open_page, fake):
    fake.set(watching="markup")
    page = open_page()
    page.goto("/")

    expect(slot(page, "title")).to_contain_text("<script>window.__pwned=1</script>")
    # And once more through the script's own rendering (the <template>).
    fake.set(watching="idle")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(BANNER)).to_have_count(0)
    fake.set(watching="markup")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(slot(page, "title")).to_contain_text("<script>window.__pwned=1</script>")
    assert page.evaluate("window.__pwned") is None


def test_trakt_down_still_gives_a_page(open_page, fake):
    fake.set(trakt_fault="500")
    page = open_page()
    response = page.goto("/")

    assert response.status == 200
    expect(page.locator("h1")).to_have_text("sean")
    expect(page.locator(".overview")).to_contain_text("Totals unavailable right now")
    expect(page.locator(BANNER)).to_have_count(0)


def test_a_slow_watching_answer_shows_a_skeleton_the_script_fills_in(open_page, fake):
    fake.set(watching_delay=1.5)
    page = open_page()
    page.goto("/")

    expect(page.locator("h1")).to_contain_text("Sean Rudford")
    expect(page.locator("[data-banner-skeleton]")).to_have_count(1)
    expect(slot(page, "title")).to_have_text("Super 8", timeout=10_000)
    expect(page.locator("[data-banner-skeleton]")).to_have_count(0)


def test_the_banner_appears_and_leaves_without_a_reload(open_page, fake):
    fake.set(watching="idle")
    page = open_page()
    page.clock.install()
    page.goto("/")
    page.evaluate("window.__samePage = true")
    expect(page.locator(BANNER)).to_have_count(0)

    fake.set(watching="movie")
    page.clock.fast_forward("01:01")
    expect(slot(page, "title")).to_have_text("Super 8")
    expect(page.locator("[data-last-watched]")).to_be_hidden()
    expect(page.locator("[data-announce]")).to_have_text("Now watching Super 8")

    fake.set(watching="idle")
    page.clock.fast_forward("01:01")
    expect(page.locator(BANNER)).to_have_count(0)
    expect(page.locator("[data-last-watched]")).to_be_visible()
    expect(page.locator("[data-announce]")).to_have_text("Nothing playing now")
    assert page.evaluate("window.__samePage") is True


def fill_share(page) -> float:
    return page.locator(f"{BANNER} .progress-fill").evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )


def test_the_bar_moves_every_second_and_the_words_are_the_servers(open_page, fake):
    fake.set(started_minutes_ago=1, runtime_minutes=2)  # 1 % is 1.2 s
    page = open_page()
    page.clock.install()
    page.goto("/")
    expect(slot(page, "title")).to_have_text("Super 8")
    # A moment ahead (pause_at cannot go back, and a busy machine takes its time): in seconds.
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 3)
    texts = {name: slot(page, name).inner_text() for name in ("elapsed", "percent", "left")}
    style = "el => el.style.width"
    width = page.locator(f"{BANNER} .progress-fill").evaluate(style)

    page.clock.run_for(5000)

    moved = page.locator(f"{BANNER} .progress-fill").evaluate(style)
    assert float(moved[:-1]) - float(width[:-1]) == pytest.approx(5 / 120 * 100, abs=0.9)
    # Words and numbers change with the server's next answer only (no rule lives in the script).
    assert {name: slot(page, name).inner_text() for name in texts} == texts
    # Neither the bar nor an answer about the same film is news for a screen reader. (On a
    # slow start the page may have shown the skeleton first, and announced the film since.)
    page.locator("[data-announce]").evaluate("el => el.textContent = ''")
    with page.expect_response(LIVE):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.evaluate("new Promise(resolve => queueMicrotask(resolve))")
    expect(page.locator("[data-announce]")).to_have_text("")


def test_when_the_end_passes_it_asks_at_once(open_page, fake):
    fake.set(started_minutes_ago=111.5, runtime_minutes=112)  # 30 s left
    page = open_page()
    page.clock.install()
    page.goto("/")
    expect(slot(page, "title")).to_have_text("Super 8")

    fake.set(watching="episode", started_minutes_ago=1, runtime_minutes=45)
    page.clock.run_for(40_000)  # past the end, well before the next minute's poll

    expect(slot(page, "title")).to_have_text("Breaking Bad")


def test_times_are_shown_in_the_browsers_time_zone(open_page, fake, settings):
    assert settings.TIME_ZONE == "UTC"
    page = open_page(timezone_id="Asia/Kolkata", locale="en-GB")
    page.goto("/")

    start = slot(page, "start")
    started_at = datetime.fromisoformat(start.get_attribute("datetime"))
    expect(start).to_have_text(started_at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M"))


def test_without_javascript_times_are_in_the_site_time_zone(open_page, fake):
    page = open_page(java_script_enabled=False, timezone_id="Asia/Kolkata")
    page.goto("/")

    start = slot(page, "start")
    started_at = datetime.fromisoformat(start.get_attribute("datetime"))
    expect(start).to_have_text(formatting.time_of_day(started_at.astimezone(ZoneInfo("UTC"))))
    width = page.locator(f"{BANNER} .progress-fill").evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )
    assert 0.32 < width < 0.35


def zone_where_it_is_about(hour: int, moment: datetime) -> str:
    """A fixed-offset zone in which `moment` falls in the given hour."""
    offset = (hour - moment.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_us_english_times_read_like_1_33_am(open_page, fake, settings, javascript):
    # A single-digit hour, where "01:33 AM" and "1:33 AM" differ.
    zone = zone_where_it_is_about(5, datetime.now(UTC) - timedelta(minutes=37))
    settings.TIME_ZONE = zone
    page = open_page(locale="en-US", timezone_id=zone, java_script_enabled=javascript)
    page.goto("/")

    for name in ("start", "end"):
        moment = datetime.fromisoformat(slot(page, name).get_attribute("datetime"))
        expected = formatting.time_of_day(moment.astimezone(ZoneInfo(zone)))
        assert re.fullmatch(r"[1-9]:\d\d [AP]M", expected)
        # Chromium puts a narrow no-break space before AM/PM.
        expect(slot(page, name)).to_have_text(
            re.compile("^" + expected.replace(" ", "[ \u202f]") + "$")
        )


@pytest.mark.parametrize("width", [320, 360])
def test_a_phone_width_needs_no_sideways_scroll(open_page, fake, width):
    fake.set(watching="episode", runtime_minutes=45)
    page = open_page(viewport={"width": width, "height": 800})
    page.goto("/")

    expect(slot(page, "title")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 360:
        screenshot(page, "phone")
        assert_accessible(page)


def test_the_dark_scheme_is_dark_and_accessible(open_page, fake):
    page = open_page(color_scheme="dark")
    page.goto("/")

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 17, 23)"
    screenshot(page, "dark")
    assert_accessible(page)


def test_demo_mode_is_labelled_and_uses_our_own_art(open_page, settings):
    settings.DEMO_MODE = True
    page = open_page()
    page.goto("/")

    expect(page.get_by_role("note")).to_contain_text("Demo data")
    expect(slot(page, "title")).to_have_text("The Quiet Orbit")
    assert page.locator("img.avatar").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "demo")
    assert_accessible(page)


def test_polls_revalidate_with_the_etag(open_page, fake):
    fake.set(watching="idle")
    page = open_page()
    page.clock.install()
    page.goto("/")

    with page.expect_response(LIVE) as first:
        page.clock.fast_forward("00:16")
    first.value.finished()
    page.evaluate("new Promise(resolve => queueMicrotask(resolve))")
    with page.expect_response(LIVE) as second:
        page.clock.fast_forward("00:16")

    assert first.value.status == 200 and "if-none-match" not in first.value.request.headers
    etag = first.value.headers["etag"]
    assert second.value.request.headers["if-none-match"] == etag
    assert second.value.status == 304


def set_visibility(page, state: str) -> None:
    page.evaluate(
        """state => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_hidden_tab_stops_polling_and_refreshes_on_return(open_page, fake):
    fake.set(watching="idle")
    page = open_page()
    polls = []
    # Polls of /live, not the stream at /live/stream.
    page.on(
        "request", lambda request: request.url.split("?")[0].endswith("/live") and polls.append(1)
    )
    page.clock.install()
    page.goto("/")

    set_visibility(page, "hidden")
    fake.set(watching="movie")
    page.clock.fast_forward("05:00")
    page.evaluate("1")
    assert polls == []

    set_visibility(page, "visible")
    expect(slot(page, "title")).to_have_text("Super 8")


def white_png(width: int = 64, height: int = 36) -> bytes:
    """The hardest backdrop for white text: plain white."""
    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# Where an element's letters are: the box of its text, without padding, border or icon.
TEXT_BOX = """el => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) if (walker.currentNode.textContent.trim()) nodes.push(walker.currentNode);
    const range = document.createRange();
    range.setStartBefore(nodes[0]);
    range.setEndAfter(nodes[nodes.length - 1]);
    const box = range.getBoundingClientRect();
    return {x: box.x, y: box.y, width: box.width, height: box.height};
}"""


@pytest.mark.parametrize("width", [1280, 360])
def test_banner_text_keeps_4_5_to_1_on_a_white_backdrop(open_page, fake, width):
    page = open_page(viewport={"width": width, "height": 900})
    page.route("**/img/**", lambda route: route.fulfill(body=white_png(), content_type="image/png"))
    page.goto("/")
    expect(slot(page, "title")).to_have_text("Super 8")
    assert slot(page, "backdrop").evaluate("img => img.complete && img.naturalWidth") > 0
    texts = page.locator(
        f"{BANNER} :is([data-slot=label], [data-slot=title], [data-slot=meta], "
        "[data-slot=percent], .banner-times > span, [data-link])"
    )
    colours = [colour_luminance(text) for text in texts.all()]
    # Measure what is behind the text: the text itself made invisible (through the CSSOM).
    page.locator(f"{BANNER} .banner-text").evaluate(
        "el => el.querySelectorAll('*').forEach(n => n.style.color = 'transparent')"
    )
    page.locator(f"{BANNER} .live-dot").evaluate("el => el.style.visibility = 'hidden'")
    for text, colour in zip(texts.all(), colours, strict=True):
        shot = page.screenshot(clip=text.evaluate(TEXT_BOX), animations="disabled")
        background = max(pixel_luminance(page, shot))
        ratio = contrast(colour, background)
        assert ratio >= 4.5, f"{text.inner_text()!r}: {ratio:.2f}:1"


def answered(page) -> None:
    """Waits until the page's question to /live (if any) has been answered and applied."""
    expect(page.locator("[data-live]")).not_to_have_attribute("aria-busy", "true")


def test_while_trakt_fails_the_page_asks_once_a_minute(open_page, fake):
    fake.set(trakt_fault="500")
    page = open_page()
    polls = []
    # Polls of /live, not the stream at /live/stream.
    page.on(
        "request", lambda request: request.url.split("?")[0].endswith("/live") and polls.append(1)
    )
    page.clock.install()
    page.goto("/")

    for wait, expected in (("00:59", 0), ("00:02", 1), ("00:58", 1), ("00:02", 2)):
        page.clock.fast_forward(wait)
        answered(page)
        assert len(polls) == expected, wait

    fake.set(trakt_fault=None)
    page.clock.fast_forward("01:01")
    expect(slot(page, "title")).to_have_text("Super 8")


def test_when_the_site_fails_the_page_waits_longer_each_time(open_page, fake):
    page = open_page()
    polls = []
    # Polls of /live, not the stream at /live/stream.
    page.on("request", lambda request: LIVE.search(request.url) and polls.append(1))
    page.route(LIVE, lambda route: route.fulfill(status=503, body="down"))
    page.clock.install()
    page.goto("/")

    # 15 s, then 30 s after a failure, then 60 s.
    for wait, expected in (("00:16", 1), ("00:29", 1), ("00:02", 2), ("00:59", 2), ("00:02", 3)):
        page.clock.fast_forward(wait)
        answered(page)
        assert len(polls) == expected, wait

    page.unroute(LIVE)
    fake.set(title="Super 9")
    page.clock.fast_forward("02:01")
    expect(slot(page, "title")).to_have_text("Super 9")


def test_reduced_motion_stops_animation_but_not_updates(open_page, fake):
    page = open_page(reduced_motion="reduce")
    page.clock.install()
    page.goto("/")

    dot = page.locator(f"{BANNER} .live-dot")
    assert dot.evaluate("el => getComputedStyle(el).animationName") == "none"
    fill = page.locator(f"{BANNER} .progress-fill")
    assert fill.evaluate("el => getComputedStyle(el).transitionDuration") == "0s"
    before = fill_share(page)
    page.clock.run_for(3000)
    assert fill_share(page) != before


def test_an_avatar_on_any_host_shows_without_opening_the_policy(open_page, fake):
    # Gravatar (or any host Trakt names): a host the page's policy does not allow images from.
    with FakeUpstream() as gravatar:
        fake.set(avatar=f"{gravatar.url}/img/avatar/0ba3f72910bdf3.png?d=mp&r=pg&s=256")
        page = open_page()
        page.goto("/")

        avatar = page.locator("img.avatar")
        expect(avatar).to_have_attribute("src", re.compile(r"^/avatar\?v=[0-9a-f]{12}$"))
        page.wait_for_function("() => document.querySelector('img.avatar')?.naturalWidth > 0")
        policy = page.evaluate(
            "async () => (await fetch('/')).headers.get('content-security-policy')"
        )
        assert gravatar.url not in policy and "*" not in policy
        assert gravatar.images["/img/avatar/0ba3f72910bdf3.png"] == 1
    # (page_problems: no Content-Security-Policy report on the way.)
