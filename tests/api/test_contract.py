"""Every JSON answer in every upstream case matches profile/openapi.json, and nothing is missing.

The document is the promise to programs; these tests make the answers and the document
unable to drift apart: an undocumented endpoint, status, field or error code fails here.
"""

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine

from profile.api.openapi import openapi_document
from profile.live.cache import wait_for_refreshes
from tests.contract import (
    Answer,
    assert_matches_openapi,
    operations,
    urlconf_paths,
    validator_for,
)
from tests.upstream import TRAKT, TRAKT_FAILURES, WATCHING_URL, add_tmdb, fixture, watching

PROFILE_URL = f"{TRAKT}/users/sean"
STATS_URL = f"{TRAKT}/users/sean/stats"
MOVIE_HALFWAY = datetime(2014, 10, 23, 7, 40, 2, tzinfo=UTC)
EPISODE_HALFWAY = datetime(2014, 10, 23, 6, 46, 42, tzinfo=UTC)
TRAKT_URLS = {"/api/watching": WATCHING_URL, "/api/profile": PROFILE_URL, "/api/stats": STATS_URL}
GOOD = {
    "/api/watching": {"json": fixture("trakt_watching_movie.json")},
    "/api/profile": {"json": fixture("trakt_user_profile_extended_full.json")},
    "/api/stats": {"json": fixture("trakt_user_stats.json")},
}
METHODS = ["post", "put", "patch", "delete", "options", "trace"]
FAKE_SCENARIOS = [
    "movie",
    "episode",
    "checkin",
    "idle",
    "unknown_action",
    "no_ids",
    "null_year",
    "untitled_episode",
    "markup",
]
FAKE_FAULTS = [
    "500",
    "invalid_json",
    "html",
    "html403",
    "401",
    "private",
    "wrong_shape",
    "list",
    "huge",
    "429",
    "423",
    "420",
    "404",
]


@dataclass
class Case:
    """One upstream situation: what Trakt (and TMDB) answer, and when we ask."""

    trakt: dict = field(default_factory=dict)
    tmdb: dict | None = None  # None: the official samples
    at: datetime = MOVIE_HALFWAY
    settings: dict = field(default_factory=dict)


def _watching_cases() -> dict[str, Case]:
    episode = watching("trakt_watching_episode.json")
    untitled = watching("trakt_watching_episode.json")
    untitled["episode"] = untitled["episode"] | {"title": None}
    no_ids = watching()
    no_ids["movie"] = no_ids["movie"] | {"ids": {"trakt": 2, "imdb": "", "tmdb": None}}
    null_year = watching()
    null_year["movie"] = null_year["movie"] | {"year": None}
    return {
        "movie": Case({"json": watching()}),
        "scrobble": Case({"json": watching(action="scrobble")}),
        "episode": Case({"json": episode}, at=EPISODE_HALFWAY),
        "untitled-episode": Case({"json": untitled}, at=EPISODE_HALFWAY),
        "idle": Case({"status": 204}),
        "unknown-action": Case({"json": watching(action="watching")}),
        "no-ids": Case({"json": no_ids}),
        "null-year": Case({"json": null_year}),
        "before-start": Case({"json": watching()}, at=MOVIE_HALFWAY - timedelta(hours=3)),
        "after-end": Case({"json": watching()}, at=MOVIE_HALFWAY + timedelta(hours=3)),
        "tmdb-500": Case({"json": watching()}, tmdb={"status": 500}),
        "tmdb-timeout": Case({"json": watching()}, tmdb={"body": requests.Timeout("slow")}),
        "tmdb-no-images": Case({"json": watching()}, tmdb={"json": {"id": 1, "backdrops": []}}),
    }


def _cases(path: str) -> dict[str, Case]:
    cases = _watching_cases() if path == "/api/watching" else {"ok": Case(GOOD[path])}
    if path == "/api/profile":
        cases["private"] = Case({"json": fixture("trakt_user_profile_private.json")})
    if path == "/api/stats":
        cases["empty"] = Case({"json": {}})
    for reply, status, code in TRAKT_FAILURES:
        cases[f"trakt-{status}-{code}-{len(cases)}"] = Case(reply)
    cases["not-configured"] = Case(settings={"TRAKT_API_KEY": ""})
    cases["no-username"] = Case(settings={"TRAKT_USERNAME": ""})
    cases["demo"] = Case(settings={"DEMO_MODE": True})
    return cases


UPSTREAM_CASES = [
    pytest.param(path, case, id=f"{path}:{name}")
    for path in TRAKT_URLS
    for name, case in _cases(path).items()
]


def ask(client, mock, settings, path: str, case: Case, **headers):
    """The answer to GET `path` while Trakt and TMDB answer as `case` says."""
    for name, value in case.settings.items():
        setattr(settings, name, value)
    mock.get(TRAKT_URLS[path], **case.trakt)
    if case.tmdb is None:
        add_tmdb(mock)
    else:
        mock.get(re.compile(r"https://api\.themoviedb\.org/.*"), **case.tmdb)
    with time_machine.travel(case.at, tick=False):
        return client.get(path, headers=headers)


@pytest.mark.parametrize(("path", "case"), UPSTREAM_CASES)
def test_every_upstream_case_matches_the_document(client, mock, settings, path, case):
    assert_matches_openapi(ask(client, mock, settings, path, case), path)


@pytest.mark.parametrize("path", TRAKT_URLS)
def test_a_stale_answer_matches_the_document(client, mock, path):
    with time_machine.travel(MOVIE_HALFWAY, tick=False) as clock:
        good = mock.get(TRAKT_URLS[path], **GOOD[path])
        add_tmdb(mock)
        client.get(path)
        clock.shift(timedelta(minutes=16))
        mock.remove(good)
        mock.get(TRAKT_URLS[path], status=502)
        client.get(path)  # the kept answer; its refresh in the background fails
        wait_for_refreshes()
        response = client.get(path)

    assert response.json()["stale"] is True
    assert_matches_openapi(response, path)


@pytest.mark.parametrize("path", ["/api/openapi.json", "/healthz"])
def test_the_endpoints_without_an_upstream_match_the_document(client, mock, path):
    assert_matches_openapi(client.get(path), path)


def test_the_document_is_served_as_json_exactly(client):
    response = client.get("/api/openapi.json")

    assert response["Content-Type"] == "application/json"
    assert response.json() == openapi_document()


@pytest.mark.parametrize("path", [*TRAKT_URLS, "/api/openapi.json", "/healthz"])
@pytest.mark.parametrize("method", METHODS)
def test_every_refused_method_matches_the_document(client, mock, path, method):
    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert_matches_openapi(response, path)


@pytest.mark.parametrize("path", [*TRAKT_URLS, "/api/openapi.json", "/healthz"])
def test_not_modified_and_head_match_the_document(client, mock, settings, path):
    for url, reply in GOOD.items():
        mock.get(TRAKT_URLS[url], **reply)
    add_tmdb(mock)

    with time_machine.travel(MOVIE_HALFWAY, tick=False):
        etag = client.get(path)["ETag"]
        not_modified = client.get(path, headers={"If-None-Match": etag})
        head = client.head(path)

    assert not_modified.status_code == 304
    assert_matches_openapi(not_modified, path)
    assert_matches_openapi(head, path, "head")


# --- The document covers everything, and only what exists --------------------------------------


def json_paths() -> set[str]:
    """Every /api/... route, plus /healthz: the JSON endpoints the document must describe."""
    return {p for p in urlconf_paths() if p.startswith("/api/")} | {"/healthz"}


def test_every_json_endpoint_is_in_the_document():
    missing = json_paths() - set(openapi_document()["paths"])

    assert not missing, f"endpoints missing from profile/openapi.json: {sorted(missing)}"


def test_every_documented_path_exists():
    assert set(openapi_document()["paths"]) <= urlconf_paths()


def test_every_upstream_error_code_is_in_the_documents_enum():
    from profile.client import ERROR_HTTP_STATUS

    documented = openapi_document()["components"]["schemas"]["Error"]["properties"]["code"]
    # Besides Trakt's: the site's own refusals, the history mirror's database failing, and
    # the webhooks' refusals and /readyz's "not yet" (tests/test_docs.py checks the
    # documentation's table against the same enum).
    own = {"method_not_allowed", "bad_request", "server_error", "history_unavailable"}
    own |= {"payload_too_large", "too_many_requests", "not_ready"}
    assert set(documented["enum"]) == set(ERROR_HTTP_STATUS) | own


def test_every_error_status_is_documented_for_each_upstream_endpoint():
    from profile.client import ERROR_HTTP_STATUS

    for path in TRAKT_URLS:
        responses_ = openapi_document()["paths"][path]["get"]["responses"]
        assert set(map(str, ERROR_HTTP_STATUS.values())) | {"200", "304", "405"} == set(responses_)


# --- Live: the real server stack against the loopback fake upstream ---------------------------

FAKE_STATES = {
    **{scenario: {"watching": scenario} for scenario in FAKE_SCENARIOS},
    **{f"trakt-{fault}": {"trakt_fault": fault} for fault in FAKE_FAULTS},
    "tmdb-500": {"tmdb_fault": "500"},
    "private-profile": {"profile": "private"},
}


@pytest.fixture
def fake(reset_fake):
    return reset_fake


def fetch(url: str):
    try:
        return urllib.request.urlopen(url, timeout=30)
    except urllib.error.HTTPError as error:
        return error


@pytest.mark.parametrize("state", FAKE_STATES.values(), ids=FAKE_STATES.keys())
def test_every_live_answer_matches_the_document(live_server, fake, state):
    fake.set(**state)

    for path in [*TRAKT_URLS, "/api/openapi.json", "/healthz"]:
        with fetch(live_server.url + path) as response:
            assert_matches_openapi(Answer.read(response), path)


# --- Examples are real answers ------------------------------------------------------------------

# (path, status, example name, case name): each example in the document is exactly this answer.
REAL_EXAMPLES = [
    ("/api/watching", "200", "movie", "movie"),
    ("/api/watching", "200", "episode", "episode"),
    ("/api/watching", "200", "idle", "idle"),
    ("/api/watching", "502", "private_profile", "trakt-502-private_profile"),
    ("/api/watching", "503", "rate_limited", "trakt-503-rate_limited"),
    ("/api/watching", "504", "timeout", "trakt-504-timeout"),
    ("/api/profile", "200", "profile", "ok"),
    ("/api/profile", "502", "unavailable", "trakt-502-unavailable"),
    ("/api/profile", "503", "not_configured", "not-configured"),
    ("/api/profile", "504", "timeout", "trakt-504-timeout"),
    ("/api/stats", "200", "stats", "ok"),
    ("/api/stats", "502", "forbidden", "trakt-502-forbidden"),
    ("/api/stats", "503", "rate_limited", "trakt-503-rate_limited"),
    ("/api/stats", "504", "timeout", "trakt-504-timeout"),
]


def example_case(path: str, case_name: str) -> Case:
    cases = _cases(path)
    if case_name in cases:
        return cases[case_name]
    return next(case for name, case in cases.items() if name.startswith(case_name + "-"))


def documented_examples():
    for path, method, operation in operations():
        for status, spec in operation["responses"].items():
            for media in spec.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    yield path, method, status, name, example["value"]


def test_every_example_matches_its_schema():
    examples = list(documented_examples())

    assert len(examples) >= len(REAL_EXAMPLES)
    for path, method, status, name, value in examples:
        pointer = f"#/paths/{path.replace('/', '~1')}/{method}/responses/{status}/content"
        errors = list(validator_for(pointer + "/application~1json/schema").iter_errors(value))
        assert not errors, f"example {name} of {path} {status}: {errors[0].message}"


@pytest.mark.parametrize(("path", "status", "name", "case_name"), REAL_EXAMPLES)
def test_the_examples_are_what_the_endpoint_answers(
    client, mock, settings, path, status, name, case_name
):
    response = ask(client, mock, settings, path, example_case(path, case_name))
    media = openapi_document()["paths"][path]["get"]["responses"][status]["content"]

    assert str(response.status_code) == status
    assert media["application/json"]["examples"][name]["value"] == response.json()


# --- The checker itself -------------------------------------------------------------------------


def answer(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    return Answer(status, content_type, body, {"content-type": content_type})


@pytest.mark.parametrize(
    ("path", "reply", "complaint"),
    [
        ("/api/nowhere", answer(200, b"{}"), "not in the OpenAPI document"),
        ("/api/watching", answer(418, b"{}"), "418, which is not documented"),
        ("/api/watching", answer(200, b'{"isWatching": "yes"}'), "not of type 'boolean'"),
        ("/api/watching", answer(200, b'{"isWatching": true}'), "'content' is a required"),
        ("/api/watching", answer(200, b'{"isWatching": false, "x": 1}'), "Additional properties"),
        ("/api/watching", answer(200, b"<p>", "text/html"), "'text/html' is not documented"),
        ("/api/stats", answer(502, b'{"error": {"code": "oops", "message": "m"}}'), "'oops'"),
        ("/api/profile", answer(304, b"{}"), "should have no body"),
    ],
)
def test_the_checker_refuses_what_the_document_does_not_allow(path, reply, complaint):
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        assert_matches_openapi(reply, path)


# --- API_DOCUMENTATION.md says what the document says ------------------------------------------


def test_the_documentation_names_every_endpoint_field_and_error_code():
    from profile.api.openapi import OPENAPI_PATH

    text = (OPENAPI_PATH.parent.parent / "API_DOCUMENTATION.md").read_text()
    document = openapi_document()
    schemas = document["components"]["schemas"]
    fields = {name for schema in schemas.values() for name in schema.get("properties", {})}

    for path, method, _ in operations():
        assert f"`{method.upper()} {path}`" in text, path
    for code in schemas["Error"]["properties"]["code"]["enum"]:
        assert f"| `{code}` |" in text, code
    for name in fields - {"openapi", "info", "paths"}:
        assert re.search(rf"\b{re.escape(name)}\b", text), name


def test_every_json_example_in_the_documentation_is_a_possible_answer():
    from profile.api.openapi import OPENAPI_PATH

    text = (OPENAPI_PATH.parent.parent / "API_DOCUMENTATION.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    pointers = [
        f"#/paths/{path.replace('/', '~1')}/{method}/responses/{status}/content/application~1json/schema"
        for path, method, operation in operations()
        for status, spec in operation["responses"].items()
        if "application/json" in spec.get("content", {})
    ]

    assert len(blocks) >= 6
    for block in blocks:
        value = json.loads(block)
        assert any(validator_for(p).is_valid(value) for p in pointers), block[:80]


def test_the_checker_accepts_a_non_json_answer_by_status_and_content_type(monkeypatch):
    card = {"get": {"responses": {"200": {"content": {"image/svg+xml": {}}}}}}
    document = openapi_document()
    document["paths"]["/api/card.svg"] = card
    monkeypatch.setattr("tests.contract.openapi_document", lambda: document)

    assert_matches_openapi(answer(200, b"<svg/>", "image/svg+xml"), "/api/card.svg")
    with pytest.raises(AssertionError, match="'image/png' is not documented"):
        assert_matches_openapi(answer(200, b"png", "image/png"), "/api/card.svg")


def test_the_checker_enforces_formats():
    examples = openapi_document()["paths"]["/api/profile"]["get"]["responses"]["200"]
    body = examples["content"]["application/json"]["examples"]["profile"]["value"]
    body["profile"]["joined_at"] = "yesterday"

    with pytest.raises(AssertionError, match="is not a 'date-time'"):
        assert_matches_openapi(answer(200, json.dumps(body).encode()), "/api/profile")


def test_a_source_added_later_still_fits_the_watching_answer():
    # The docs promise more sources may come (as more actions may): a client that validates
    # against the document must not break on one.
    examples = openapi_document()["paths"]["/api/watching"]["get"]["responses"]["200"]
    body = examples["content"]["application/json"]["examples"]["movie"]["value"]
    body["content"]["source"] = "kodi"

    assert_matches_openapi(answer(200, json.dumps(body).encode()), "/api/watching")
