"""The site has an icon: every page links its SVG, and /favicon.ico (which browsers, feed
readers and a JSON answer opened in a tab ask for) answers too, so a first visit logs no 404."""

import logging
import re
import struct

import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import Page


@pytest.mark.parametrize("path", ["/", "/api-test", "/no-such-page"])
def test_every_page_links_the_svg_icon(client, fake, path):
    html = client.get(path).content.decode()

    [link] = re.findall(r'<link rel="icon"[^>]*>', html)
    assert 'type="image/svg+xml"' in link
    href = re.search(r'href="([^"]+)"', link)[1]
    assert href == "/static/favicon.svg"
    assert finders.find("favicon.svg").endswith("static/favicon.svg")


def test_the_svg_icon_is_a_plain_svg():
    svg = open(finders.find("favicon.svg")).read()

    assert svg.startswith("<svg") and 'viewBox="0 0 32 32"' in svg
    # An icon is an image: nothing that would run or load, and no <style> a CSP might refuse.
    for forbidden in ("<script", "<style", "href", "<image", "url("):
        assert forbidden not in svg
    assert not re.search(r"\son\w+=", svg)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_favicon_ico_answers_with_a_small_png(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert png_size(response.content) == (32, 32)
    assert "max-age=86400" in response["Cache-Control"]
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_a_first_visit_asks_for_nothing_that_is_not_there(live_server, fake, page: Page, caplog):
    failures = []
    fake.set(avatar="{url}/img/w185/face.png")  # an avatar the site can fetch, and serve
    page.on(
        "response",
        lambda r: (
            r.url.startswith(live_server.url)
            and r.status >= 400
            and failures.append(f"{r.status} {r.url}")
        ),
    )
    page.on("console", lambda m: "404" in m.text and failures.append(m.text))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        for path in ("/", "/api-test"):
            page.goto(live_server.url + path)
            icon = page.locator('link[rel="icon"]').evaluate("link => link.href")
            # What a browser (or a tab showing a JSON answer) fetches for the icon.
            for url in (icon, f"{live_server.url}/favicon.ico"):
                status = page.evaluate("async url => (await fetch(url)).status", url)
                assert status == 200, url
            page.wait_for_load_state("networkidle")

    assert failures == []
    assert "Not Found" not in caplog.text
