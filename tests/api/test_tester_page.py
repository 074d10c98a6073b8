"""/api-test in a real browser (Debian's chromium) against live_server and the fake upstream."""

import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from profile.api.openapi import api_endpoints


@pytest.fixture
def tester(live_server, fake, page: Page):
    def open_tester(query: str = "") -> Page:
        page.goto(f"{live_server.url}/api-test{query}")
        return page

    return open_tester


def run(page: Page, name: str) -> None:
    page.get_by_label("Endpoint", exact=True).select_option(name)
    page.get_by_role("button", name="Test Endpoint").click()
    expect(page.locator("#busy")).to_be_hidden()


def test_it_lists_every_documented_endpoint(tester):
    page = tester()

    options = page.locator("#endpoint option")
    expect(options).to_have_count(len(api_endpoints()))
    assert options.evaluate_all("all => all.map(o => o.value)") == [
        endpoint["name"] for endpoint in api_endpoints()
    ]
    assert options.all_text_contents() == [e["path"] for e in api_endpoints()]
    assert options.evaluate_all("all => all.map(o => o.dataset.summary)") == [
        endpoint["summary"] for endpoint in api_endpoints()
    ]


def test_it_runs_now_watching_and_shows_status_time_and_json(tester, live_server):
    page = tester()

    run(page, "watching")

    expect(page.locator("#status")).to_have_text("200 OK")
    expect(page.locator("#time")).to_have_text(re.compile(r"^\d+ ms$"))
    body = page.locator("#body")
    expect(body).to_contain_text('"title": "Super 8"')
    expect(body.locator(".json-key", has_text='"isWatching":')).to_have_count(1)
    expect(body.locator(".json-boolean").first).to_have_text("true")
    expect(page.locator("#curl")).to_have_text(f"curl -i '{live_server.url}/api/watching'")


def test_the_headers_are_shown_when_opened(tester):
    page = tester()
    run(page, "watching")

    content_type = page.get_by_role("cell", name="content-type", exact=True)
    expect(content_type).to_be_hidden()
    page.get_by_text("Response headers").click()

    expect(content_type).to_be_visible()
    row = page.locator("#header-rows tr", has=content_type)
    expect(row).to_contain_text("application/json")
    expect(page.get_by_role("cell", name="etag", exact=True)).to_be_visible()


def test_an_upstream_error_shows_its_status_and_error_body(tester, fake):
    fake.set(trakt_fault="500")
    page = tester()

    run(page, "profile")

    expect(page.locator("#status")).to_have_text("502 Bad Gateway")
    expect(page.locator("#status")).to_have_attribute("data-kind", "error")
    expect(page.locator("#body")).to_contain_text('"code": "unavailable"')


def test_it_shows_the_svg_card_as_an_image(tester):
    page = tester()

    run(page, "card")

    expect(page.locator("#status")).to_have_text("200 OK")
    expect(page.locator("#body")).to_contain_text("<svg")
    preview = page.locator("#preview-image")
    expect(preview).to_be_visible()
    expect(preview).to_have_js_property("complete", True)
    assert preview.evaluate("img => img.naturalWidth") > 0


def test_a_json_answer_shows_no_image_preview(tester):
    page = tester()

    run(page, "card")
    run(page, "watching")

    expect(page.locator("#preview")).to_be_hidden()


def test_the_endpoint_parameter_preselects_it(tester):
    page = tester("?endpoint=stats")

    expect(page.get_by_label("Endpoint", exact=True)).to_have_value("stats")


def test_an_unknown_endpoint_parameter_preselects_the_first(tester):
    page = tester("?endpoint=https://example.com/")

    expect(page.get_by_label("Endpoint", exact=True)).to_have_value(api_endpoints()[0]["name"])


def test_it_works_from_the_keyboard(tester):
    page = tester("?endpoint=watching")

    page.get_by_label("Endpoint", exact=True).focus()
    page.keyboard.press("ArrowDown")  # the next one: profile
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.locator("#request")).to_have_text(re.compile(r"/api/profile$"))
    expect(page.locator("#status")).to_have_text("200 OK")
    expect(page.locator("#body")).to_contain_text('"username": "sean"')
    assert page.url.endswith("?endpoint=profile")


def test_a_body_that_is_not_json_is_shown_as_received(tester, live_server):
    page = tester()
    page.route(
        f"{live_server.url}/healthz",
        lambda route: route.fulfill(status=500, content_type="text/html", body="<b>broken</b>"),
    )

    run(page, "healthz")

    expect(page.locator("#status")).to_have_text(re.compile(r"^500"))
    expect(page.locator("#body")).to_have_text("<b>broken</b>")
    expect(page.locator("#note")).to_contain_text("not JSON (Content-Type: text/html")


def test_a_network_error_is_shown_plainly(tester, live_server):
    page = tester()
    page.route(f"{live_server.url}/healthz", lambda route: route.abort("connectionrefused"))

    run(page, "healthz")

    expect(page.locator("#status")).to_have_text("Network error")
    expect(page.locator("#body")).to_contain_text("No answer:")


def test_the_copy_buttons_copy_the_body_and_the_curl_command(tester, live_server, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = tester()
    run(page, "healthz")

    page.get_by_role("button", name="Copy curl command").click()
    expect(page.locator("#copied")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == f"curl -i '{live_server.url}/healthz'"

    page.get_by_role("button", name="Copy body").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith('{\n  "status": "ok",\n  "cache": "ok",\n')  # as shown: indented
    assert json.loads(copied)["database"] == "ok"


# Each option's text, measured in the select's own font, against the room it has inside
# (its width less padding and the arrow).
OPTIONS_THAT_DO_NOT_FIT = """select => {
    const style = getComputedStyle(select);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    const room = select.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight) - 24;
    return [...select.options]
        .filter(option => context.measureText(option.text).width > room)
        .map(option => option.text);
}"""

# How many lines each path of the endpoint table takes (the "GET " before it may wrap).
PATH_LINES = """codes => codes.map(code => {
    const text = code.firstChild;
    const range = document.createRange();
    range.setStart(text, text.data.indexOf("/"));
    range.setEnd(text, text.data.length);
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
})"""


@pytest.mark.parametrize("width", [320, 375])
def test_at_phone_width_the_picker_and_the_paths_are_whole(tester, width):
    page = tester()
    page.set_viewport_size({"width": width, "height": 800})

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for control in (page.locator("#endpoint"), page.get_by_role("button", name="Test Endpoint")):
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.locator("#endpoint").evaluate(OPTIONS_THAT_DO_NOT_FIT) == []
    codes = page.locator(".endpoints td code")
    assert codes.evaluate_all(PATH_LINES) == [1] * len(api_endpoints())
    # What the chosen endpoint answers is still said, under the picker.
    expect(page.locator("#endpoint-summary")).to_have_text("Now Watching")
    page.get_by_label("Endpoint", exact=True).select_option("stats")
    expect(page.locator("#endpoint-summary")).to_have_text("Stats")


def test_the_page_has_no_accessibility_violations(tester):
    page = tester()
    run(page, "watching")
    page.get_by_text("Response headers").click()

    results = Axe().run(page)

    assert results.violations_count == 0, results.generate_report()


def test_the_page_has_no_inline_script_or_style(client):
    html = client.get("/api-test").content.decode()

    assert "style=" not in html and "<style" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


# --- An input for every parameter (drawn from the OpenAPI document) ---------------------------


def test_every_parameter_of_the_chosen_endpoint_has_an_input(tester):
    page = tester("?endpoint=history")

    for endpoint in api_endpoints():
        fields = page.locator(f'fieldset[data-params="{endpoint["name"]}"] [data-in]')
        names = fields.evaluate_all("all => all.map(f => f.name)")
        assert names == [p["name"] for p in endpoint["parameters"]], endpoint["name"]
    history = page.locator('fieldset[data-params="history"]')
    expect(history).to_be_visible()
    expect(page.locator('fieldset[data-params="activity"]')).to_be_hidden()
    expect(history.get_by_label("type")).to_have_js_property("tagName", "SELECT")
    expect(history.get_by_label("limit")).to_have_attribute("max", "100")


def test_the_fields_make_the_request(tester, live_server):
    page = tester("?endpoint=history")
    history = page.locator('fieldset[data-params="history"]')
    history.get_by_label("limit").fill("2")
    history.get_by_label("type").select_option("movie")

    page.get_by_role("button", name="Test Endpoint").click()

    expect(page.locator("#request")).to_have_text(
        f"GET {live_server.url}/api/history?limit=2&type=movie"
    )
    expect(page.locator("#status")).to_have_text("200 OK")
    expect(page.locator("#body")).to_contain_text('"limit": 2')


def test_a_path_parameter_is_filled_in_and_can_be_changed(tester, live_server):
    page = tester("?endpoint=year")
    year = page.locator('fieldset[data-params="year"]').get_by_label("yyyy")
    endpoint = next(e for e in api_endpoints() if e["name"] == "year")
    expect(year).to_have_value(endpoint["parameters"][0]["value"])
    year.fill("1999")

    page.get_by_role("button", name="Test Endpoint").click()

    expect(page.locator("#request")).to_have_text(f"GET {live_server.url}/api/year/1999")
    expect(page.locator("#status")).to_have_text("404 Not Found")


def test_a_bad_parameter_shows_the_400_that_names_it(tester):
    page = tester("?endpoint=activity")
    activity = page.locator('fieldset[data-params="activity"]')
    activity.get_by_label("from").fill("2025-05-02")
    activity.get_by_label("to").fill("2025-05-01")

    page.get_by_role("button", name="Test Endpoint").click()

    expect(page.locator("#status")).to_have_text("400 Bad Request")
    expect(page.locator("#body")).to_contain_text("from must be on or before to")
