"""Browser tests: Debian's chromium (see tests/conftest.py) against pytest-django's live
server, which is pointed at a loopback fake Trakt and TMDB."""

import base64
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# The page's live updates, /live, with the version of the history the page shows (?history=).
LIVE = re.compile(r"/live(\?.*)?$")

# Set NOWWATCHING_SCREENSHOTS=docs/screenshots to save the README's pictures while testing.
SCREENSHOTS = os.environ.get("NOWWATCHING_SCREENSHOTS")


@pytest.fixture
def fake(fake, settings):
    # Every poll reaches the fake, so a test can change what plays between two polls.
    settings.WATCHING_CACHE_SECONDS = 0
    yield fake
    # The pages are closed by now (open_page depends on this fixture), but the live
    # server may still be asking: answer at once and let it finish, so no late answer
    # (or a TMDB failure once the fake is gone) lands in the next test's cache.
    fake.set(trakt_fault=None, tmdb_fault=None, delay=0.0, watching_delay=0.0)
    calls = -1
    while calls != fake.calls():
        calls = fake.calls()
        time.sleep(0.3)


@pytest.fixture(autouse=True)
def page_problems():
    """Fails the test on any uncaught page error and any Content-Security-Policy report."""
    problems: list[str] = []
    yield problems
    assert not problems, "the page reported problems:\n" + "\n".join(problems)


def _loopback_only(route):
    # The browser is a separate process: keep it off the internet too (Trakt avatars).
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost", "::1"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def open_page(browser, live_server, fake, page_problems):
    """open_page(**context_args) -> a fresh page (not navigated yet) that reports problems."""
    contexts = []

    def open_(**context_args):
        context = browser.new_context(
            **{"viewport": {"width": 1280, "height": 900}, "base_url": live_server.url}
            | context_args
        )
        contexts.append(context)
        context.route("**/*", _loopback_only)
        page = context.new_page()

        def on_console(message):
            if "Content Security Policy" in message.text:
                page_problems.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page_problems.append(f"page error: {error}"))
        return page

    yield open_
    for context in contexts:
        context.close()


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Saves docs/screenshots/{name}.png when NOWWATCHING_SCREENSHOTS is set."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=full_page)


# Colour measured in the page, by WCAG 2: relative luminance and contrast ratio.
_LINEAR = "const lin = c => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;"
_PIXELS = f"""async b64 => {{
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width; canvas.height = img.height;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, img.width, img.height).data;
    {_LINEAR}
    const out = [];
    for (let i = 0; i < px.length; i += 4) {{
        out.push(0.2126 * lin(px[i]) + 0.7152 * lin(px[i + 1]) + 0.0722 * lin(px[i + 2]));
    }}
    return out;
}}"""
_COLOUR = f"""(el, property) => {{
    const [r, g, b] = getComputedStyle(el)[property].match(/\\d+/g).map(Number);
    {_LINEAR}
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}}"""


def pixel_luminance(page, png: bytes) -> list[float]:
    """The relative luminance of each pixel of a PNG (a screenshot), row by row."""
    return page.evaluate(_PIXELS, base64.b64encode(png).decode())


def colour_luminance(locator, property: str = "color") -> float:
    """The relative luminance of an element's computed colour `property`."""
    return locator.evaluate(_COLOUR, property)


def contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)
