"""Live from the player, in a browser: the site as `make serve` runs it (gunicorn, 2 asgi
workers, Redis) against the fake Trakt/TMDB, and the scripted player posting webhooks. A
film starts, pauses and ends on an open page without a reload, and only the stream can have
brought it: the page's polls of /live are cut off. /api/watching and the card agree, and the
start is told to a loopback notification target (the end, a minute later, debounced: see
tests/live/test_notify.py). How soon it shows is `make bench`'s to measure, not a test's."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _loopback_only, screenshot
from tests.conftest import WEBHOOK_TOKEN
from tests.fake_upstream import FakeUpstream
from tests.player import Player
from tests.receiver import Receiver
from tests.servers import gunicorn, redis_server

BANNER = "[data-banner-slot] [data-banner]"
TIMEOUT = 15_000  # ms: a generous deadline for a busy machine; the bench measures the speed
# The progress bar's filled share, as the page's script last set it (the bar eases to it).
WIDTH = "el => parseFloat(el.style.width) / 100"
POLL = re.compile(r"/live(\?|$)")  # the page's poll, with or without the history it shows


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def site(receiver):
    with FakeUpstream(watching="idle") as fake, redis_server() as cache_url:
        env = fake.env() | {
            "CACHE_URL": cache_url,
            "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "MEDIA_SERVER_USER": "sean",
            "NOTIFY_URLS": receiver.url,
        }
        with gunicorn(env, workers=2) as site:
            yield site


@pytest.fixture
def polls():
    """What the page's polls of /live meet (the route's handler): cut off unless a test says."""
    return {"handle": lambda route: route.abort()}


@pytest.fixture
def open_page(browser, site, page_problems, polls):
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    context.route("**/*", _loopback_only)
    # Polling /live is cut off: whatever changes on the page came over the stream.
    context.route(POLL, lambda route: polls["handle"](route))
    page = context.new_page()
    page.on("pageerror", lambda error: page_problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and page_problems.append(m.text),
    )
    page.clock.install()  # runs as usual, and may be moved on (run_for)
    # A worker that has only just started refuses a stream (503) until it has subscribed: the
    # page's script then tries again later (30 s), as it would for a visitor.
    with page.expect_response(_stream_opened, timeout=90_000):
        page.goto("/")
    page.evaluate("window.__samePage = true")
    yield page
    context.close()


def _stream_opened(response) -> bool:
    return "/live/stream" in response.url and response.status == 200


def answer(site, path: str) -> str:
    with urllib.request.urlopen(site.url + path, timeout=30) as response:
        return response.read().decode()


def test_a_webhook_puts_a_film_on_an_open_page_pauses_it_and_ends_it(open_page, site, receiver):
    page = open_page
    plex = Player("plex", WEBHOOK_TOKEN)
    expect(page.locator(BANNER)).to_have_count(0)

    assert plex.post(site.url, "play", position=600)[0] == 202
    expect(page.locator(f"{BANNER} [data-slot=title]")).to_have_text("Super 8", timeout=TIMEOUT)
    expect(page.locator(f"{BANNER} [data-slot=meta]")).to_have_text(
        "2011 · Movie · on Plex", timeout=TIMEOUT
    )
    expect(page.locator(f"{BANNER} [data-slot=thumb]")).to_be_visible(timeout=TIMEOUT)
    # The title's lookup on Trakt lands after the first push: its link joins the banner.
    expect(page.locator(f"{BANNER} [data-link=trakt]")).to_be_visible(timeout=TIMEOUT)
    expect(page).to_have_title("Now watching: Super 8 · Sean Rudford", timeout=TIMEOUT)
    screenshot(page, "push-playing", full_page=False)
    fill = page.locator(f"{BANNER} .progress-fill")
    before = fill.evaluate(WIDTH)
    page.clock.run_for(120_000)  # two minutes of ticks, at once: the bar moves on
    assert fill.evaluate(WIDTH) > before + 0.01

    plex.post(site.url, "pause", position=1344)  # 20 %
    expect(page.locator(f"{BANNER} [data-slot=label]")).to_have_text("Paused", timeout=TIMEOUT)
    expect(page.locator(BANNER)).to_have_class("banner banner--paused", timeout=TIMEOUT)
    expect(page.locator(f"{BANNER} [data-slot=percent]")).to_have_text("20%")
    still = fill.evaluate(WIDTH)
    page.clock.run_for(120_000)  # two minutes of ticks: the bar stands still
    assert fill.evaluate(WIDTH) == pytest.approx(still, abs=1e-4)
    assert still == pytest.approx(0.2, abs=0.01)
    screenshot(page, "push-paused", full_page=False)
    watching = json.loads(answer(site, "/api/watching"))["content"]
    assert (watching["state"], watching["source"], watching["progress"]["percentage"]) == (
        "paused", "plex", 20,
    )  # fmt: skip
    assert "Paused on Plex" in answer(site, "/api/watching.svg")

    plex.post(site.url, "resume", position=1344)
    expect(page.locator(f"{BANNER} [data-slot=label]")).to_have_text(
        "Now Watching", timeout=TIMEOUT
    )
    plex.post(site.url, "stop", position=6100)  # 90 %: watched
    expect(page.locator(BANNER)).to_have_count(0, timeout=TIMEOUT)
    expect(page.locator("[data-last-watched]")).to_contain_text(
        "Last watched: Super 8", timeout=TIMEOUT
    )
    assert page.evaluate("window.__samePage") is True
    deadline = time.monotonic() + 30
    while not receiver.titles() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.titles() == ["Now watching: Super 8"]  # once, though it was resumed


def test_a_poll_answered_before_a_push_does_not_take_the_page_back(open_page, site, polls):
    page = open_page
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.post(site.url, "play", position=600)
    expect(page.locator(f"{BANNER} [data-slot=label]")).to_have_text(
        "Now Watching", timeout=TIMEOUT
    )

    held = []  # the poll, answered by the site now (playing) but given to the page later
    polls["handle"] = lambda route: held.append((route, route.fetch()))
    with page.expect_request(POLL):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # polls at once
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # Playwright's calls run its handlers
        page.wait_for_timeout(50)
    assert held, "the poll was never answered by the site"
    plex.post(site.url, "pause", position=1344)
    expect(page.locator(f"{BANNER} [data-slot=label]")).to_have_text("Paused", timeout=TIMEOUT)
    route, stale = held[0]
    banner = stale.json()["fragments"]["banner"]  # the older answer, rendered before the pause
    assert "Now Watching" in banner and "Paused" not in banner
    route.fulfill(response=stale)
    expect(page.locator("[data-live]")).not_to_have_attribute("aria-busy", "true", timeout=TIMEOUT)
    expect(page.locator(f"{BANNER} [data-slot=label]")).to_have_text("Paused")
    expect(page.locator(BANNER)).to_have_class("banner banner--paused")

    plex.post(site.url, "stop", position=6100)
    expect(page.locator(BANNER)).to_have_count(0, timeout=TIMEOUT)
