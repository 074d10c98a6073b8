"""Hostile requests and hostile upstreams get a clear answer: never a 500, a hang or a leak.

The request cases run twice: in-process (Django alone) and as raw bytes against gunicorn
(what really arrives on the wire: NUL, invalid UTF-8, an 8 KB request line).
"""

import json
import socket

import pytest
from django.test import Client

from profile.client import http as upstream_http
from tests.servers import gunicorn
from tests.test_security_secrets import endpoints

ODD_QUERIES = [
    "a" * 8192,
    "q=" + "x" * 8192,
    "&".join(f"k{i}=v" for i in range(2000)),  # more fields than Django parses
    "x=%00",
    "%00=%00&%00",
    "x=%ff%fe%c3%28",  # percent-encoded invalid UTF-8
    "x=%E0%80%AF..%2f..%2f",
    "x=%uD800&y=%zz&%",
    "x[]=1&x[]=2&x[a]=3",
    "=&=&;;;&&",
    "x=<script>alert(1)</script>",
    "user=someone-else&username=../../users/me",
]


@pytest.fixture
def demo(settings):
    # Demo data: every endpoint answers without an upstream, so only the input varies.
    settings.DEMO_MODE = True
    settings.TRAKT_USERNAME = ""


def every_path() -> list[str]:
    return [*endpoints(), "/no-such-page", "/api/no-such-endpoint"]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_odd_and_huge_query_strings_are_ignored(client, demo, query):
    for path in every_path():
        response = client.get(f"{path}?{query}")

        # 204: the live stream under Django's own server (none here: the page polls).
        assert response.status_code in ((204,) if path == "/live/stream" else (200, 404)), path
        if path == "/api/watching":
            assert response.json()["isWatching"] is True


@pytest.mark.parametrize(
    "value",
    ['"unterminated', "W/", "*", ",,,", '"a", ,, W/"b"', "x" * 8000, '"\x7f"', "é"],
    ids=range(8),
)
def test_a_malformed_if_none_match_is_ignored(client, demo, value):
    response = client.get("/api/watching", HTTP_IF_NONE_MATCH=value)

    # "*" matches any current answer, so 304 is right for it; the rest cannot match.
    assert response.status_code == (304 if value == "*" else 200)


def test_a_matching_if_none_match_still_works(client, demo):
    etag = client.get("/healthz")["ETag"]

    assert client.get("/healthz", HTTP_IF_NONE_MATCH=f'"junk", {etag}').status_code == 304


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "CONNECT", "post", "DELETE"])
@pytest.mark.parametrize("path", ["/api/watching", "/healthz"])
def test_unknown_methods_get_405(client, demo, method, path):
    response = client.generic(method, path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "post", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/api-test"])
def test_unknown_methods_on_pages_get_405_not_a_csrf_403(demo, method, path):
    # Django's test client skips CSRF checks unless asked; a real request gets them.
    response = Client(enforce_csrf_checks=True).generic(method, path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- On the wire, through gunicorn ----------------------------------------------------------


def raw(site_url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are; return the status and body (the server must answer)."""
    port = int(site_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def get(target: bytes, host: bytes = b"127.0.0.1", extra: bytes = b"") -> bytes:
    return (
        b"GET "
        + target
        + b" HTTP/1.1\r\nHost: "
        + host
        + b"\r\n"
        + extra
        + (b"Connection: close\r\n\r\n")
    )


@pytest.fixture(scope="module")
def site():
    with gunicorn({"DEMO_MODE": "true"}, workers=1) as site:
        yield site


TRAVERSALS = [
    b"/static/../nowwatching/settings.py",
    b"/static/%2e%2e/nowwatching/settings.py",
    b"/static/..%2fnowwatching%2fsettings.py",
    b"/static/css/..%2f..%2f..%2fnowwatching/settings.py",
    b"/static/%2e%2e%5c%2e%2e%5cnowwatching%5csettings.py",
    b"/static/%252e%252e/%252e%252e/nowwatching/settings.py",
    b"/static/....//....//nowwatching/settings.py",
    b"/static//etc/passwd",
    b"/static/../../../../../../etc/passwd",
    b"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    b"/static/css/site.css%00.txt",
]


def test_static_files_are_served(site):
    assert raw(site.url, get(b"/static/css/site.css"))[0] == 200


@pytest.mark.parametrize("target", TRAVERSALS, ids=range(len(TRAVERSALS)))
def test_path_traversal_under_static_finds_nothing(site, target):
    status, body = raw(site.url, get(target))

    assert status in (400, 404)
    assert b"SECRET_KEY" not in body and b"root:" not in body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # gunicorn refuses a request line with raw NUL or non-ASCII bytes, or over 4 KB.
        (get(b"/api/watching?x=\xff\xfe\xc3\x28"), 400),
        (get(b"/api/watching?x=\x00"), 400),
        (get(b"/api/watching?" + b"a" * 8192), 414),
        # Percent-encoded, they reach the site, which ignores the query.
        (get(b"/api/watching?x=%00%ff"), 200),
        (get(b"/api/watching", host=b"attacker.example"), 400),
        (get(b"/api/watching", host=b"127.0.0.1.attacker.example"), 400),
        (get(b"/api/watching", host=b"127.0.0.1@attacker.example"), 400),
        (get(b"/api/watching", host=b"[::1"), 400),
        (get(b"/no-such-page", host=b"attacker.example"), 400),
        (get(b"/api/watching", extra=b'If-None-Match: "\xff\xfe\r\n'), 200),
        (b"FOO /api/watching HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 405),
    ],
    ids=range(11),
)
def test_hostile_requests_on_the_wire_get_a_clear_answer(site, request_bytes, status):
    answer_status, body = raw(site.url, request_bytes)

    assert answer_status == status, body[:300]
    assert b"Traceback" not in body


def test_the_server_log_holds_no_traceback_after_all_that(site):
    for target in TRAVERSALS:
        raw(site.url, get(target))
    raw(site.url, get(b"/api/watching", host=b"attacker.example"))

    assert "Traceback" not in site.log_text()


# --- Hostile upstreams (over real sockets; responses-based cases are in api/test_watching.py) ---


@pytest.fixture
def fake(reset_fake, monkeypatch):
    monkeypatch.setattr(upstream_http, "TOTAL_DEADLINE", {"trakt": 1.5, "tmdb": 1.5})
    return reset_fake


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("huge", 502, "bad_response"),  # declares 2 MB: refused before reading
        ("endless", 502, "bad_response"),  # no length, never ends: cut at 1 MB
        ("html", 502, "bad_response"),  # 200 text/html
        ("html403", 502, "forbidden"),  # the CDN's HTML refusal
        ("list", 502, "bad_response"),  # JSON of the wrong type
        ("wrong_shape", 502, "bad_response"),
        ("invalid_json", 502, "bad_response"),
        ("drip", 504, "timeout"),  # each byte in time, the whole too late
    ],
)
def test_a_hostile_trakt_answer_is_refused_with_a_clear_error(client, fake, fault, status, code):
    fake.set(trakt_fault=fault)

    response = client.get("/api/watching")

    assert response.status_code == status
    assert response.json() == {
        "isWatching": False,
        "error": response.json()["error"] | {"code": code},
    }


def test_an_endless_answer_is_not_read_whole(client, fake):
    fake.set(trakt_fault="endless")

    client.get("/api/watching")

    # The fake would write 64 MB; the client stops after 1 MB (plus what the sockets hold).
    assert fake.endless_bytes_sent < 16 * 2**20


@pytest.mark.parametrize("fault", ["huge", "endless", "html", "list", "wrong_shape", "drip"])
def test_a_hostile_tmdb_answer_only_drops_the_images(client, fake, fault):
    fake.set(tmdb_fault=fault)

    response = client.get("/api/watching")

    assert response.status_code == 200
    content = response.json()["content"]
    assert content["title"] == "Super 8"
    assert "backdrop" not in content.get("images", {})
    json.dumps(content)  # nothing odd leaked into the answer
