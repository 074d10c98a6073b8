"""GET /api/watching.svg: a safe, self-contained SVG card from the same caches as the JSON."""

import base64
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine

from profile import formatting
from profile.live import card
from tests.conftest import SECRETS
from tests.upstream import FIXTURES, TMDB, TRAKT, WATCHING_URL, add_tmdb, fixture, watching

SVG = "{http://www.w3.org/2000/svg}"
HISTORY_URL = f"{TRAKT}/users/sean/history"
IMAGES = "https://image.tmdb.org/t/p"
PNG = (FIXTURES / "backdrop.png").read_bytes()
MARKUP = '<img src=x onerror="window.__pwned=1"><script>alert(1)</script>'
# Halfway through the sample movie and the sample episode (see tests/api/test_watching.py).
MOVIE_HALFWAY = datetime(2014, 10, 23, 7, 40, 2, tzinfo=UTC)
EPISODE_HALFWAY = datetime(2014, 10, 23, 6, 46, 42, tzinfo=UTC)


def add_images(mock, **reply):
    """TMDB's image host answers every image with the fixture PNG (or `reply`)."""
    mock.get(
        re.compile(rf"{IMAGES}/w\d+/.+"), **(reply or {"body": PNG, "content_type": "image/png"})
    )


def get_card(client, query="", at=MOVIE_HALFWAY, **headers):
    with time_machine.travel(at, tick=False):
        return client.get(f"/api/watching.svg{query}", **headers)


def parse_safe(response) -> ET.Element:
    """The card as XML, after checking it can run nothing and load nothing."""
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        name = element.tag.removeprefix(SVG)
        assert element.tag.startswith(SVG), element.tag
        assert name not in ("script", "foreignObject", "iframe", "object", "embed", "a", "use")
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            assert not local.startswith("on"), attribute
            assert local != "style", attribute
            if local == "href":
                assert value.startswith(("data:image/", "#")), value[:40]
            else:
                assert "//" not in value and ":" not in value.replace("image/", ""), value[:40]
            for reference in re.findall(r"url\(([^)]*)\)", value):
                assert reference.startswith("#"), reference
    return root


def texts(root: ET.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def inline_images(root: ET.Element) -> list[str]:
    return [element.get("href") for element in root.iter(f"{SVG}image")]


def progress_fill(root: ET.Element) -> int:
    bars = [element for element in root.iter(f"{SVG}rect") if element.get("height") == "6"]
    track, filled = bars
    return round(int(filled.get("width")) / int(track.get("width")) * 100)


# --- What it shows --------------------------------------------------------------------------


def test_a_movie_card_shows_title_year_progress_and_the_inlined_backdrop(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    add_images(mock)

    response = get_card(client)

    assert response.status_code == 200
    root = parse_safe(response)
    assert texts(root) == ["NOW WATCHING ON TRAKT", "Super 8", "2011 · 56 min left"]
    assert progress_fill(root) == 50
    assert inline_images(root) == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    image_calls = [call.request.url for call in mock.calls if call.request.url.startswith(IMAGES)]
    # The small backdrop, chosen like the JSON's (see tests/api/test_watching.py).
    assert image_calls == [f"{IMAGES}/w300/hZkgoQYus5vegHoetLkCJzb17zJ.jpg"]
    assert root.find(f"{SVG}title").text == "Now watching on Trakt: Super 8"


@pytest.mark.parametrize(
    ("left", "text"),
    [(timedelta(minutes=65), "1 h 5 min left"), (timedelta(minutes=80), "1 h 20 min left")],
)
def test_time_left_reads_as_on_the_page(client, mock, left, text):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    add_images(mock)
    ends = datetime(2014, 10, 23, 8, 36, 2, tzinfo=UTC)

    root = parse_safe(get_card(client, at=ends - left))

    assert texts(root)[-1] == f"2011 · {text}"
    assert text == formatting.time_left(int(left.total_seconds()))


def test_an_episode_card_shows_the_show_the_episode_and_its_year(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_episode.json"))
    add_tmdb(mock)
    add_images(mock)

    root = parse_safe(get_card(client, at=EPISODE_HALFWAY))

    assert texts(root) == [
        "NOW WATCHING ON TRAKT",
        "Breaking Bad",
        "S0E2 - Wedding Day",
        "2008 · 23 min left",
    ]
    assert progress_fill(root) == 50
    assert inline_images(root)[0].startswith("data:image/png;base64,")


def test_when_idle_it_shows_the_last_watched_item_and_when(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=fixture("trakt_user_history_movie.json"))

    # Three hours after the sample history item.
    root = parse_safe(get_card(client, at=datetime(2014, 10, 23, 7, 40, 2, tzinfo=UTC)))

    assert texts(root) == ["LAST WATCHED ON TRAKT", "The Dark Knight", "2008 · 3 hours ago"]
    assert not inline_images(root)
    assert not [element for element in root.iter(f"{SVG}rect") if element.get("height") == "6"]


@pytest.mark.parametrize(
    "history",
    [{"json": []}, {"status": 500}, {"body": requests.ConnectTimeout("slow")}],
    ids=["no-history", "history-fails", "history-times-out"],
)
def test_when_idle_without_a_last_watched_item_it_is_a_plain_idle_card(client, mock, history):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, **history)

    response = get_card(client)

    assert response.status_code == 200
    assert texts(parse_safe(response)) == ["NOW WATCHING ON TRAKT", "Nothing playing right now"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"status": 500}, "Trakt is unavailable right now (HTTP 500)."),
        ({"status": 403}, "Trakt refused this API app (HTTP 403)."),
        ({"body": requests.ReadTimeout("slow")}, "Trakt did not answer in time."),
        ({"status": 429, "headers": {"Retry-After": "10"}}, "Trakt's rate limit was reached"),
    ],
    ids=["500", "403", "timeout", "429"],
)
def test_when_trakt_fails_it_is_a_small_error_card_that_still_shows(client, mock, reply, message):
    mock.get(WATCHING_URL, **reply)

    response = get_card(client)

    # 200: image proxies show no image at all for an error status.
    assert response.status_code == 200
    lines = texts(parse_safe(response))
    assert lines[:2] == ["NOW WATCHING ON TRAKT", "Unavailable right now"]
    assert lines[2].startswith(message[:40])
    assert not any(secret.encode() in response.content for secret in SECRETS)


def test_markup_in_a_title_is_shown_as_text(client, mock):
    body = watching()
    body["movie"]["title"] = MARKUP
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)
    add_images(mock)

    response = get_card(client, "?width=800")

    root = parse_safe(response)
    title = texts(root)[1]
    assert title.startswith('<img src=x onerror="window.__pwned=1"><script>')
    assert b"<script" not in response.content and b"<img" not in response.content


def test_control_characters_are_dropped_not_a_broken_card(client, mock):
    body = watching()
    body["movie"]["title"] = "Bad\x00 \x1b[31mbytes\x7f end"
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    response = get_card(client)

    assert response.status_code == 200
    assert texts(parse_safe(response))[1] == "Bad [31mbytes end"


@pytest.mark.parametrize("title", ["Lone \ud800 surrogate", "Not \ufffe text"])
def test_a_title_no_page_can_encode_is_dropped_not_a_broken_card(client, mock, title):
    body = watching()
    body["movie"]["title"] = title
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    response = get_card(client)

    assert response.status_code == 200
    assert texts(parse_safe(response))[1] == "Untitled"


def test_a_long_title_is_cut_with_an_ellipsis_to_fit_the_width(client, mock):
    body = watching()
    body["movie"]["title"] = "A very long title " * 10
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    narrow = texts(parse_safe(get_card(client, "?width=320")))[1]
    wide = texts(parse_safe(get_card(client, "?width=800")))[1]

    assert narrow.endswith("…") and wide.endswith("…")
    assert len(narrow) < len(wide) < 70


def test_wide_characters_are_cut_sooner(client, mock):
    body = watching()
    body["movie"]["title"] = "千と千尋の神隠し" * 4
    mock.get(WATCHING_URL, json=body)
    add_tmdb(mock)

    title = texts(parse_safe(get_card(client, "?width=320")))[1]

    # 272 px of 22 px bold: about 20 Latin letters, but only some 12 of these.
    assert title.endswith("…") and len(title) <= 13


def test_an_item_watched_a_moment_ago_is_just_now(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=fixture("trakt_user_history_movie.json"))

    root = parse_safe(get_card(client, at=datetime(2014, 10, 23, 4, 40, 30, tzinfo=UTC)))

    assert texts(root)[2] == "2008 · just now"


# --- Caches: embedding costs no extra upstream call --------------------------------------------


def test_the_card_reuses_the_cached_watching_answer_and_image(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    add_images(mock)

    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        client.get("/api/watching")
        calls_after_json = len(mock.calls)
        cards = [client.get("/api/watching.svg").content for _ in range(3)]

    trakt_calls = [call for call in mock.calls if call.request.url.startswith(TRAKT)]
    image_calls = [call for call in mock.calls if call.request.url.startswith(IMAGES)]
    assert len(trakt_calls) == 1
    assert len(image_calls) == 1
    assert len(mock.calls) == calls_after_json + 1  # only the image, once
    assert cards[0] == cards[1] == cards[2]


def test_the_last_watched_item_is_cached_too(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=fixture("trakt_user_history_movie.json"))

    get_card(client)
    get_card(client, at=MOVIE_HALFWAY + timedelta(seconds=5))

    assert len([call for call in mock.calls if call.request.url.startswith(HISTORY_URL)]) == 1


# --- The image --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 404},
        {"status": 500},
        {"body": requests.ReadTimeout("slow")},
        {"body": "<html>not an image</html>", "content_type": "text/html"},
        {"body": b"", "content_type": "image/png"},
        {"body": b"x" * 400_000, "content_type": "image/jpeg"},
    ],
    ids=["404", "500", "timeout", "html", "empty", "too-large"],
)
def test_an_image_that_fails_only_costs_the_image(client, mock, reply):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    add_images(mock, **reply)

    response = get_card(client)

    assert response.status_code == 200
    root = parse_safe(response)
    assert texts(root)[1] == "Super 8"
    assert not inline_images(root)


def test_a_failed_image_is_not_asked_for_again_at_once(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    add_tmdb(mock)
    add_images(mock, status=500)

    get_card(client)
    get_card(client)

    assert len([call for call in mock.calls if call.request.url.startswith(IMAGES)]) == 1


def test_without_a_backdrop_it_inlines_the_poster_at_the_side(client, mock):
    mock.get(WATCHING_URL, json=fixture("trakt_watching_movie.json"))
    images = fixture("tmdb_movie_images.json") | {"backdrops": []}
    mock.get(f"{TMDB}/movie/37686/images", json=images)
    add_images(mock)

    root = parse_safe(get_card(client))

    (image,) = root.iter(f"{SVG}image")
    assert image.get("href").startswith("data:image/png;base64,")
    assert int(image.get("x")) > 0 and image.get("height") == str(card.HEIGHT)
    image_calls = [call.request.url for call in mock.calls if call.request.url.startswith(IMAGES)]
    assert image_calls[0].startswith(f"{IMAGES}/w342/")


def test_only_our_own_image_addresses_are_fetched(mock):
    from profile.client import UpstreamError, tmdb

    with pytest.raises(UpstreamError):
        tmdb.image("https://example.com/w300/x.jpg")
    assert not mock.calls


# --- Options and HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "width", "background"),
    [
        ("", "480", card.THEMES["dark"]["bg"]),
        ("?theme=light", "480", card.THEMES["light"]["bg"]),
        ("?theme=dark&width=600", "600", card.THEMES["dark"]["bg"]),
        ("?theme=neon&width=wide", "480", card.THEMES["dark"]["bg"]),
        ("?width=10", "320", card.THEMES["dark"]["bg"]),
        ("?width=100000&theme=light", "800", card.THEMES["light"]["bg"]),
        ("?width=-5&user=someone-else&format=png", "320", card.THEMES["dark"]["bg"]),
    ],
)
def test_theme_and_width_are_bounded_and_other_parameters_ignored(
    client, mock, query, width, background
):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=[])

    root = parse_safe(get_card(client, query))

    assert root.get("width") == width
    assert root.get("viewBox") == f"0 0 {width} {card.HEIGHT}"
    assert root.find(f"{SVG}g/{SVG}rect").get("fill") == background
    assert mock.calls[0].request.url == WATCHING_URL


def test_it_is_an_svg_image_that_proxies_must_revalidate(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=[])

    response = get_card(client)

    assert response["Content-Type"] == "image/svg+xml"
    assert set(response["Cache-Control"].split(", ")) == {"no-cache", "max-age=0"}
    assert response["ETag"]
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def test_an_unchanged_card_answers_304_to_its_etag(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=[])

    etag = get_card(client)["ETag"]
    again = get_card(client, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""


def test_head_answers_like_get(client, mock):
    mock.get(WATCHING_URL, status=204)
    mock.get(HISTORY_URL, json=[])

    response = client.head("/api/watching.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get_and_head_are_allowed(client, mock, method):
    response = getattr(client, method)("/api/watching.svg")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert not mock.calls


# --- Demo mode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/w300/../../settings.py", "/w300/.env", "/w300/", "/w300/none.svg", "/x/avatar.svg"]
)
def test_the_demo_image_host_serves_only_demo_artwork(path):
    from profile import demo

    assert demo.reply("tmdb", "GET", path, {}).status == 404


def test_the_demo_card_inlines_our_own_artwork_without_the_network(client, settings, monkeypatch):
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = settings.TMDB_API_KEY = ""

    def refuse(*args, **kwargs):
        raise AssertionError("demo mode must not use the network")

    monkeypatch.setattr(requests.Session, "send", refuse)

    root = parse_safe(client.get("/api/watching.svg"))

    assert texts(root)[1] == "The Quiet Orbit"
    assert texts(root)[2].endswith("demo data")
    art = (settings.BASE_DIR / "static/demo/w300/quiet-orbit-backdrop.svg").read_bytes()
    assert inline_images(root) == ["data:image/svg+xml;base64," + base64.b64encode(art).decode()]


# --- In Chromium, embedded the way a README embeds it ------------------------------------------


DRAW = """async (url) => {
    const img = new Image();
    img.crossOrigin = "anonymous";  // the card's CORS headers let a canvas read it
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const pixel = (x, y) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
    return {
        width: img.naturalWidth,
        height: img.naturalHeight,
        bar: pixel(30, 130),
        artwork: pixel(img.naturalWidth - 20, 75),
    };
}"""


def rgb(color: str) -> list[int]:
    return [int(color[i : i + 2], 16) for i in (1, 3, 5)]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_in_an_img_tag_the_card_draws_its_inlined_artwork_and_progress(
    live_server, fake, page, theme, tmp_path
):
    # An <img> loads nothing an SVG refers to: the artwork shows only if it is inlined.
    page.goto(f"{fake.url}/_calls")

    drawn = page.evaluate(DRAW, f"{live_server.url}/api/watching.svg?theme={theme}&width=500")

    colors = card.THEMES[theme]
    assert (drawn["width"], drawn["height"]) == (500, card.HEIGHT)
    assert drawn["bar"] == rgb(colors["accent"])
    assert drawn["artwork"] != rgb(colors["bg"])
    assert fake.calls("trakt:") == 1
