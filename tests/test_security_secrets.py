"""The keys never appear in any answer, header or log line, whatever the upstreams do.

Every endpoint of the URLconf (so pages added later are scanned too), and the error pages,
are asked once per upstream case: every scenario and every fault of the fake Trakt and
TMDB, and keys that the upstreams refuse.
"""

import logging

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from profile.client import http as upstream_http
from tests import fake_upstream
from tests.conftest import SECRETS, TRAKT_TOKEN
from tests.servers import free_port

# Faults that end without an answer; the rest of FAULTS, and statuses, answer at once.
SLOW_FAULTS = ("timeout", "drip")
FAULTS = sorted(set(fake_upstream.FAULTS) - {"ok"}) + ["429", "502", "endless", *SLOW_FAULTS]
# urllib3 warns about these with the whole URL (TMDB's api_key included).
FAULTS += ["malformed_header", "absurd_headers", "429_absurd"]
CASES = (
    [("watching", scenario) for scenario in ("movie", "episode", "idle", "markup")]
    + [("trakt_fault", fault) for fault in FAULTS]
    + [("tmdb_fault", fault) for fault in FAULTS]
    + [("unreachable", "TRAKT_API_URL"), ("unreachable", "TMDB_API_URL")]
    + [("wrong_keys", True), ("tmdb_bearer", True)]
)
SCANNED_FOR = (*SECRETS, fake_upstream.TRAKT_KEY, fake_upstream.TMDB_KEY)


def endpoints(patterns=None, prefix="/") -> list[str]:
    """Every URL of the site that takes no argument, plus two that do not exist."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = str(entry.pattern)
        if "<" in route or "(?P" in route:
            continue
        if isinstance(entry, URLResolver):
            found += endpoints(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            found.append(prefix + route.lstrip("^").rstrip("$"))
    return found


def body(response) -> str:
    """The whole body as text, a streamed one (the exports) read to its end."""
    data = b"".join(response) if response.streaming else response.content
    return data.decode(errors="replace")  # /favicon.ico is a PNG


@pytest.fixture
def fake(reset_fake, settings, monkeypatch):
    # Short deadlines, so that timeouts and drips cost about a second, not five.
    monkeypatch.setattr(upstream_http, "READ_TIMEOUT", {"trakt": 0.5, "tmdb": 0.5})
    monkeypatch.setattr(upstream_http, "TOTAL_DEADLINE", {"trakt": 1.0, "tmdb": 1.0})
    reset_fake.set(timeout_seconds=1.5)
    settings.TRAKT_ACCESS_TOKEN = TRAKT_TOKEN
    return reset_fake


def test_every_endpoint_is_scanned():
    assert {"/api/watching", "/healthz"} <= set(endpoints())


@pytest.mark.parametrize(("what", "value"), CASES, ids=[f"{w}={v}" for w, v in CASES])
def test_no_key_appears_in_any_answer_header_or_log_line(
    client, settings, fake, caplog, what, value
):
    if what == "wrong_keys":
        settings.TRAKT_API_KEY, settings.TMDB_API_KEY = SECRETS[0], SECRETS[1]
    elif what == "unreachable":
        # Nothing listens there: the error requests raises holds the whole URL.
        setattr(settings, value, f"http://127.0.0.1:{free_port()}/api")
    elif what == "tmdb_bearer":
        settings.TMDB_READ_ACCESS_TOKEN, settings.TMDB_API_KEY = fake_upstream.TMDB_KEY, ""
    else:
        fake.set(**{what: value})
    client.raise_request_exception = False

    seen = []
    # INFO, as the site logs: urllib3's DEBUG lines carry full URLs (SECURITY.md says so).
    with caplog.at_level(logging.INFO):
        for path in [*endpoints(), "/no-such-page", "/api/no-such-endpoint"]:
            for method in (client.get, client.head):
                response = method(path)
                assert response.status_code < 500 or response.status_code in (502, 503, 504)
                seen.append(f"{path} {response.status_code} {response.headers}")
                seen.append(body(response))
    seen.append(caplog.text)

    everything = "\n".join(seen)
    for secret in SCANNED_FOR:
        assert secret not in everything
    assert "Traceback" not in everything
