"""CORS: any origin may read /api/* (public, read-only, no credentials); pages send nothing."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from playwright.sync_api import Page, expect

from tests.fake_upstream import FakeUpstream
from tests.test_settings import check
from tests.upstream import TRAKT, WATCHING_URL

ORIGIN = "https://someones-blog.example"


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(WATCHING_URL, status=204)
        mock.get(f"{TRAKT}/users/sean/history", json=[])
        yield mock


@pytest.mark.parametrize("path", ["/api/watching", "/api/watching.svg"])
def test_any_origin_may_read_the_api(client, mock, path):
    response = client.get(path, HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert response["Access-Control-Expose-Headers"] == "ETag, Retry-After, Age"


def test_an_api_error_is_readable_cross_origin_too(client, mock):
    mock.replace(responses.GET, WATCHING_URL, status=429, headers={"Retry-After": "10"})

    response = client.get("/api/watching", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 503
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_allows_get_and_head_only(client, mock):
    response = client.options(
        "/api/watching",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert set(response["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert "accept" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    assert not mock.calls  # a preflight never reaches Trakt


# What a reader of the API sends beyond the CORS-safelisted headers: revalidation (the
# documented If-None-Match, and If-Modified-Since), cache control, and what fetch wrappers add.
READER_HEADERS = [
    "if-none-match",
    "if-modified-since",
    "cache-control",
    "pragma",
    "accept",
    "accept-language",
    "content-type",
    "x-requested-with",
]


def test_a_preflight_allows_every_header_a_reader_sends(client, mock):
    response = client.options(
        "/api/watching",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=",".join(READER_HEADERS),
    )

    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert set(READER_HEADERS) <= allowed
    assert "Access-Control-Allow-Credentials" not in response


def test_a_plain_options_request_is_still_refused(client, mock):
    response = client.options("/api/watching", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/", "/api-test", "/healthz", "/no-such-page", "/apiwatching"])
def test_pages_send_no_cors_headers(client, mock, path):
    response = client.get(path, HTTP_ORIGIN=ORIGIN)
    preflight = client.options(path, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")

    for answer in (response, preflight):
        assert not [name for name in answer.headers if name.lower().startswith("access-control")]


def test_cors_allowed_origins_narrows_it_to_those_origins(client, mock, settings):
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.CORS_ALLOWED_ORIGINS = ["https://friend.example"]

    friend = client.get("/api/watching", HTTP_ORIGIN="https://friend.example")
    stranger = client.get("/api/watching", HTTP_ORIGIN=ORIGIN)

    assert friend["Access-Control-Allow-Origin"] == "https://friend.example"
    assert "origin" in friend["Vary"].lower()
    assert "Access-Control-Allow-Origin" not in stranger
    assert stranger.status_code == 200  # the answer itself is still public


def test_cors_allowed_origins_is_read_from_the_environment():
    ok = check(CORS_ALLOWED_ORIGINS="https://a.example, http://localhost:3000")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    "origins", ["https://a.example/", "a.example", "https://a.example/path", "ftp://a.example"]
)
def test_a_malformed_cors_origin_is_refused_at_startup(origins):
    result = check(CORS_ALLOWED_ORIGINS=origins)

    assert result.returncode != 0
    assert "CORS_ALLOWED_ORIGINS holds origins like" in result.stderr


# --- In a browser: a script on another origin ----------------------------------------------


@pytest.fixture
def fake(settings):
    with FakeUpstream(watching="idle") as fake:
        fake.configure(settings)
        yield fake


def test_a_script_on_another_site_can_read_the_api_but_not_a_page(live_server, fake, page: Page):
    # The fake upstream's address (127.0.0.1) is another origin than live_server's (localhost).
    page.goto(f"{fake.url}/_calls")
    read = """async (url) => {
        try { return (await fetch(url)).status; } catch (error) { return "blocked"; }
    }"""

    assert page.evaluate(read, f"{live_server.url}/api/watching") == 200
    assert page.evaluate(read, f"{live_server.url}/api/watching.svg") == 200
    assert page.evaluate(read, f"{live_server.url}/healthz") == "blocked"


# A page of another site: its own script reads the API, then revalidates with the ETag.
READER_PAGE = b"""<!doctype html>
<html lang="en"><title>Someone's blog</title>
<pre id="out">waiting</pre>
<script>
(async () => {
  const api = new URLSearchParams(location.search).get("api");
  const out = document.getElementById("out");
  try {
    const first = await fetch(api, { headers: { Accept: "application/json" } });
    const body = await first.json();
    const etag = first.headers.get("ETag");
    const again = await fetch(api, {
      headers: { Accept: "application/json", "If-None-Match": etag, "Cache-Control": "no-cache" },
    });
    out.textContent = JSON.stringify({
      first: first.status, isWatching: body.isWatching, etag: Boolean(etag), again: again.status,
    });
  } catch (error) {
    out.textContent = `blocked: ${error}`;
  }
})();
</script>
</html>"""


class _ReaderPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(READER_PAGE)))
        self.end_headers()
        self.wfile.write(READER_PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def another_site():
    """A tiny web server on another loopback port: another origin than live_server's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReaderPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_on_another_site_revalidates_with_the_etag_and_reads_304(
    live_server, fake, another_site, page: Page
):
    page.goto(f"{another_site}/?api={live_server.url}/api/watching")

    expect(page.locator("#out")).not_to_have_text("waiting")
    assert page.locator("#out").text_content() == (
        '{"first":200,"isWatching":false,"etag":true,"again":304}'
    )
