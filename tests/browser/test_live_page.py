"""The live page tells the truth on an open page: the end of a play, "Finishing" while Trakt
still reports it, what was last watched, the tab's title, the demo's whole timeline.

The server's clock and the page's move together: time_machine moves the live server's and
the fake's (they run in threads of this process), page.clock the page's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from profile.live.cache import wait_for_refreshes
from profile.mirror import sync
from profile.mirror.posters import fill_posters
from tests.browser.conftest import screenshot
from tests.mirror import AtPage

BANNER = "[data-banner-slot] [data-banner]"
LIVE_PATH = "/live"


def slot(page, name: str):
    return page.locator(f'{BANNER} [data-slot="{name}"]')


def expect_label(page, text: str) -> None:
    """The banner's label as a reader (or a screen reader) gets it: only the one that applies."""
    expect(page.locator(f"{BANNER} .banner-label")).to_match_aria_snapshot(f"- paragraph: {text}")


def a_second() -> datetime:
    """Now, on a whole second (the Date header's resolution), as an aware datetime."""
    return datetime.now(UTC).replace(microsecond=0)


class Clocks:
    """The server's clock and the page's, moved together, each step waiting until what the
    page asked for has landed (and the refreshes it started on the server have ended)."""

    def __init__(self, traveller, page, start: datetime):
        self.traveller = traveller
        self.page = page
        self.now = start
        self.polls: list[datetime] = []  # when (on the page's clock) the page asked
        page.on(
            "request",
            lambda request: (
                request.url.split("?")[0].endswith(LIVE_PATH) and self.polls.append(self.now)
            ),
        )

    def open(self, path: str = "/") -> None:
        # Installed a minute early: its time runs from install until it is paused, and on a
        # busy machine pausing at the install's own time would be a step into the past.
        self.page.clock.install(time=self.now - timedelta(minutes=1))
        self.page.clock.pause_at(self.now)
        self.page.goto(path)
        self.settle()

    def step(self, seconds: int = 1) -> None:
        """`seconds` go by, one at a time, as they would."""
        for _ in range(seconds):
            self.now += timedelta(seconds=1)
            self.traveller.move_to(self.now)
            self.page.clock.run_for(1000)
            self.settle()

    def jump(self, seconds: float) -> None:
        """A long while at once (a laptop waking up): due timers fire once."""
        self.now += timedelta(seconds=seconds)
        self.traveller.move_to(self.now)
        self.page.clock.fast_forward(int(seconds * 1000))
        self.settle()

    def settle(self) -> None:
        expect(self.page.locator("[data-live]")).not_to_have_attribute("aria-busy", "true")
        assert wait_for_refreshes(timeout=30)


@pytest.fixture
def clocks(open_page, settings):
    """clocks(**context_args) -> Clocks with a page (not opened yet), inside time_machine."""
    # The reuse window as deployed: the fake is asked at most once per 15 s.
    settings.WATCHING_CACHE_SECONDS = 15
    start = a_second()
    with time_machine.travel(start, tick=False) as traveller:

        def make(**context_args) -> Clocks:
            return Clocks(traveller, open_page(**context_args), start)

        yield make


def film_ending_in(fake, now: datetime, seconds: int, runtime_minutes: int = 112) -> None:
    """Trakt reports Super 8, `seconds` from its end (a fixed start: the same play throughout)."""
    started = now - timedelta(minutes=runtime_minutes) + timedelta(seconds=seconds)
    fake.set(started_at=started.isoformat(), runtime_minutes=runtime_minutes)


def test_when_the_film_ends_last_watched_and_the_title_change_without_a_reload(clocks, fake):
    live = clocks()
    film_ending_in(fake, live.now, seconds=30)
    live.open()
    page = live.page
    page.evaluate("window.__samePage = true")
    expect(slot(page, "title")).to_have_text("Super 8")
    expect(page).to_have_title("Now watching: Super 8 · Sean Rudford")

    live.jump(25)
    fake.set(watching="idle")  # Trakt: the film is over
    live.step(20)

    expect(page.locator(BANNER)).to_have_count(0)
    last = page.locator("[data-last-watched]")
    expect(last).to_be_visible()
    expect(last).to_contain_text("Last watched: Super 8")
    expect(last).to_contain_text("just now")
    expect(page).to_have_title("Sean Rudford")
    expect(page.locator("[data-announce]")).to_have_text("Nothing playing now")
    assert page.evaluate("window.__samePage") is True


def test_a_resume_that_moves_trakts_start_time_updates_the_banner_in_place_unannounced(
    clocks, fake
):
    live = clocks()
    film_ending_in(fake, live.now, seconds=3600)
    live.open()
    page = live.page
    expect(slot(page, "title")).to_have_text("Super 8")
    page.locator(BANNER).evaluate("el => el.__kept = true")
    ends_before = page.locator(BANNER).get_attribute("data-expires-at")

    film_ending_in(fake, live.now, seconds=3600 + 300)  # paused five minutes, then resumed
    live.step(20)

    expect(page.locator(BANNER)).not_to_have_attribute("data-expires-at", ends_before)
    assert page.locator(BANNER).evaluate("el => el.__kept === true")  # not swapped whole
    expect(page.locator("[data-announce]")).to_have_text("")


def test_past_its_end_a_play_trakt_still_reports_is_finishing_and_checked_every_10_s(clocks, fake):
    live = clocks()
    film_ending_in(fake, live.now, seconds=30)
    live.open()
    page = live.page
    expect(slot(page, "left")).to_have_text("1 min left")

    live.jump(25)
    live.step(6)  # the end passes; Trakt still reports the film

    expect_label(page, "Finishing")
    expect(page.locator(BANNER)).not_to_contain_text("0 min left", use_inner_text=True)
    expect(slot(page, "left")).to_be_hidden()
    expect(slot(page, "percent")).to_have_text("100%")
    # The bar is full, not frozen short of the end.
    width = page.locator(f"{BANNER} .progress-fill").evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )
    assert width > 0.99
    expect(page).to_have_title("Now watching: Super 8 · Sean Rudford")

    # While it is finishing the page asks every 10 s at most.
    live.polls.clear()
    started = live.now
    live.step(40)
    gaps = [b - a for a, b in zip([started, *live.polls], [*live.polls, live.now], strict=True)]
    assert len(live.polls) >= 4 and max(gaps) <= timedelta(seconds=10), live.polls
    expect_label(page, "Finishing")

    fake.set(watching="idle")  # Trakt: it is over now
    live.step(30)
    expect(page.locator(BANNER)).to_have_count(0)
    expect(page.locator("[data-last-watched]")).to_contain_text("Last watched: Super 8")
    expect(page).to_have_title("Sean Rudford")


def expect_recent_first(page, title: str) -> None:
    expect(page.locator("#recent .poster-title").first).to_have_text(title)


def shoot(page, name: str) -> None:
    """The README's pictures of the live page (its top: the banner, what was last watched,
    the first posters), light and dark."""
    screenshot(page, name, full_page=False)
    page.emulate_media(color_scheme="dark")
    screenshot(page, f"{name}-dark", full_page=False)
    page.emulate_media(color_scheme="light")


def test_the_demos_whole_timeline_plays_on_an_open_page(clocks, settings):
    """Film, idle, episode, idle: every live part follows on one page that is never reloaded."""
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = ""
    live = clocks(viewport={"width": 1100, "height": 720})
    start = live.now
    film_ends = start + timedelta(minutes=118 - 37)  # the film started 37 minutes ago
    episode_starts = film_ends + timedelta(minutes=8)
    episode_ends = episode_starts + timedelta(minutes=52)
    sync.sync(pace=False)  # the history mirror, as the background job keeps it
    fill_posters(pause=0, limit=50)
    live.open()
    page = live.page
    page.evaluate("window.__samePage = true")
    expect(slot(page, "title")).to_have_text("The Quiet Orbit")
    expect(page).to_have_title("Now watching: The Quiet Orbit · Alex Rivera")
    expect(slot(page, "percent")).to_have_text("31%")
    expect(page.locator("[data-last-watched]")).to_be_hidden()
    before = page.locator("#recent .poster-title").first.inner_text()
    assert before != "The Quiet Orbit"

    # Mid-film: 57 minutes in.
    live.jump(20 * 60)
    live.step(3)
    expect(slot(page, "percent")).to_have_text("48%")
    expect(slot(page, "elapsed")).to_have_text("57 min")
    expect(slot(page, "left")).to_have_text("1 h 1 min left")
    expect_label(page, "Now Watching")
    shoot(page, "live-film")

    # The end passes while the kept answer still reports the film: Finishing.
    live.jump((film_ends - live.now).total_seconds() - 10)
    live.step(3)
    expect(slot(page, "left")).to_have_text("1 min left")
    live.step(8)
    expect_label(page, "Finishing")
    expect(slot(page, "percent")).to_have_text("100%")
    expect(slot(page, "left")).to_be_hidden()
    shoot(page, "live-finishing")

    # Then the demo's Trakt has nothing playing: idle, and what ended is last watched.
    live.step(15)
    expect(page.locator(BANNER)).to_have_count(0)
    expect(page).to_have_title("Alex Rivera")
    expect(page.locator("[data-announce]")).to_have_text("Nothing playing now")
    last = page.locator("[data-last-watched]")
    expect(last).to_have_text("Last watched: The Quiet Orbit · just now")
    expect_recent_first(page, before)  # the mirror does not have it yet
    shoot(page, "live-idle")

    # The job mirrors it within a minute: the posters take over from the line.
    sync.sync(pace=False)
    live.step(16)
    expect_recent_first(page, "The Quiet Orbit")
    expect(last).to_be_hidden()

    # Eight idle minutes later, the episode.
    live.jump((episode_starts - live.now).total_seconds() + 60)
    live.step(3)
    expect(slot(page, "title")).to_have_text("Saltmarsh")
    expect(slot(page, "subtitle")).to_have_text("S2E5 - The Night Ferry")
    expect(page).to_have_title("Now watching: Saltmarsh · Alex Rivera")
    expect(page.locator("[data-announce]")).to_have_text("Now watching Saltmarsh")
    expect(slot(page, "thumb")).to_have_attribute("src", re.compile("saltmarsh-s2e5-still"))

    # Mid-episode: 26 minutes in.
    live.jump(25 * 60)
    live.step(3)
    expect(slot(page, "percent")).to_have_text("50%")
    expect(slot(page, "left")).to_have_text("26 min left")
    shoot(page, "live-episode")

    # Its end: Finishing, then idle, then the mirror.
    live.jump((episode_ends - live.now).total_seconds() - 10)
    live.step(11)
    expect_label(page, "Finishing")
    live.step(15)
    expect(page.locator(BANNER)).to_have_count(0)
    expect(page).to_have_title("Alex Rivera")
    expect(last).to_have_text("Last watched: Saltmarsh S2E5 - The Night Ferry · just now")
    sync.sync(pace=False)
    live.step(16)
    expect_recent_first(page, "Saltmarsh")
    expect(last).to_be_hidden()
    # Demo links stay placeholders through every swap.
    # (getAttribute: a chart's parts are SVG links, whose `href` is no string.)
    hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert not [
        h for h in hrefs if re.search(r"trakt\.tv/(movies|shows)|themoviedb\.org/(movie|tv)", h)
    ]
    assert page.evaluate("window.__samePage") is True


class Interrupted(Exception):
    pass


def interrupt():
    raise Interrupted  # as if these were all the pages that had arrived so far


def test_on_a_first_run_the_history_comes_in_as_the_backfill_goes_on_without_a_reload(clocks, fake):
    live = clocks()
    step = timedelta(hours=7)  # 1,200 plays over a year, the newest an hour ago
    origin = live.now - timedelta(hours=1) - 1199 * step
    fake.set(
        watching="idle",
        history=1200,
        history_step_minutes=7 * 60,
        history_origin=origin.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )
    live.open()
    page = live.page
    page.evaluate("window.__samePage = true")
    expect(page.locator("#recent")).to_contain_text("being fetched from Trakt")
    expect(page.locator("#activity")).to_have_count(0)

    with pytest.raises(Interrupted):  # the first pages of the backfill are in
        sync.sync(pace=False, progress=AtPage(2, interrupt))
    live.jump(16)

    for section in ("activity", "when", "taste", "years"):
        expect(page.locator(f"#{section}")).to_be_visible()
    expect(page.locator(".history-note")).to_contain_text("still being fetched")
    plays_then = page.locator("#activity .panel-sum").text_content()

    sync.sync(pace=False)  # the rest of it, the ratings too
    live.jump(16)

    expect(page.locator(".history-note")).to_have_count(0)
    expect(page.locator("#activity .panel-sum")).not_to_have_text(plays_then)
    assert page.evaluate("window.__samePage") is True  # never reloaded
