"""The live page tells the truth on an open page: the end of a play, "Finishing" while Trakt
still reports it, what was last watched, the tab's title, the demo's whole timeline.

The server's clock and the page's move together: time_machine moves the live server's and
the fake's (they run in threads of this process), page.clock the page's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from profile.cache import wait_for_refreshes

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
        self.page.clock.install(time=self.now)
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
