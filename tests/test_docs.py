"""The docs say what the server does: each claim a test can check is checked here, against
the server, profile/openapi.json and the settings.

API_DOCUMENTATION.md's endpoint, error-code and caching tables, its CORS section and
TypeScript types; SECURITY.md's list of what the site exposes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from profile.api.openapi import api_endpoints, openapi_document
from profile.client import ERROR_HTTP_STATUS
from profile.errors import API_ERRORS, ERRORS
from profile.live import card
from tests import mirror
from tests.contract import operations, read_paths, urlconf_paths
from tests.upstream import TRAKT, WATCHING_URL, add_tmdb, fixture

ROOT = Path(__file__).resolve().parent.parent
API_DOCS = (ROOT / "API_DOCUMENTATION.md").read_text()
SECURITY = (ROOT / "SECURITY.md").read_text()


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(rf"\n#{{1,{len(level)}}} ", text[start:])
    return text[start : start + following.start()] if following else text[start:]


def table(text: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table in `text`, header excluded."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[start + 2 : end]
    ]


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def every_error_pair() -> set[tuple[str, int]]:
    """(code, HTTP status) of every error answer the server can give."""
    pairs = {(code, status) for code, status in ERROR_HTTP_STATUS.items()}
    pairs |= {(code, status) for status, (code, _) in ERRORS.items()}  # our own 400/403/404/500
    return pairs | set(API_ERRORS.items())


def documented_enum() -> set[str]:
    return set(openapi_document()["components"]["schemas"]["Error"]["properties"]["code"]["enum"])


# --- Error codes ----------------------------------------------------------------------------


def test_the_openapi_enum_holds_every_code_the_server_answers():
    assert documented_enum() == {code for code, _ in every_error_pair()}


def test_the_error_code_table_is_exactly_every_code_and_status_the_server_answers():
    errors = section(API_DOCS, "## Errors")
    rows = table(errors[errors.index("| `code` |") :])
    pairs = {(code_spans(row[0])[0], int(row[1])) for row in rows}

    assert pairs == every_error_pair()


@pytest.mark.parametrize("debug", [False, True], ids=["served", "make-run"])
def test_an_unknown_api_address_answers_not_found_as_the_table_says(client, settings, debug):
    settings.DEBUG = debug  # with DEBUG on, Django would answer its HTML debug page

    response = client.get("/api/no-such-endpoint")
    watching = client.get("/api/watching/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert watching.status_code == 404 and watching.json()["isWatching"] is False


def test_the_typescript_error_codes_are_the_enum():
    union = re.search(r"type ErrorCode =(.*?);", API_DOCS, re.S)[1]

    assert set(re.findall(r'"(\w+)"', union)) == documented_enum()


# --- Endpoints and parameters ---------------------------------------------------------------


def endpoint_rows() -> dict[str, list[str]]:
    """The endpoint table, by path (its first cell is `GET /path...` or `POST /path`)."""
    rows = table(section(API_DOCS, "## Endpoints"))
    return {code_spans(row[0])[0].split()[1].split("?")[0]: row for row in rows}


def test_the_endpoint_table_lists_every_path_of_the_openapi_document():
    assert set(endpoint_rows()) == set(openapi_document()["paths"])


@pytest.mark.parametrize(("path", "method", "operation"), operations())
def test_each_endpoint_row_has_the_documented_statuses_and_parameters(path, method, operation):
    row = endpoint_rows()[path]

    assert code_spans(row[0])[0].startswith(f"{method.upper()} {path}")
    assert row[2].split(", ") == sorted(operation["responses"])
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            assert f"{parameter['name']}=" in row[0], (path, parameter["name"])


def query_parameters() -> set[str]:
    return {
        parameter["name"]
        for _, _, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }


def test_the_rules_and_the_documents_summary_name_every_query_parameter():
    rules = {
        row[0]: row[1] for row in table(section(API_DOCS, "## The rules every endpoint follows"))
    }
    description = openapi_document()["info"]["description"]

    for name in query_parameters():
        assert f"`{name}`" in rules["Parameters"]
        assert name in description
    assert "takes no parameters" not in description


def test_the_cards_parameters_are_the_ones_it_reads():
    parameters = {
        parameter["name"]: parameter
        for parameter in openapi_document()["paths"]["/api/watching.svg"]["get"]["parameters"]
    }
    theme, width = parameters["theme"]["schema"], parameters["width"]["schema"]
    docs_rows = {row[0]: row for row in table(section(API_DOCS, "#### Query parameters"))}

    assert set(theme["examples"]) == set(card.THEMES)
    assert theme["default"] == card.DEFAULT_THEME
    assert width["default"] == str(card.DEFAULT_WIDTH)
    assert f"{card.MIN_WIDTH}..{card.MAX_WIDTH}" in parameters["width"]["description"]
    assert docs_rows["`width`"][1] == f"{card.MIN_WIDTH} to {card.MAX_WIDTH}"
    assert docs_rows["`width`"][2] == str(card.DEFAULT_WIDTH)
    assert docs_rows["`theme`"][2] == f"`{card.DEFAULT_THEME}`"


# --- Caching headers ------------------------------------------------------------------------


@pytest.fixture
def upstream(mock):
    # A play in the year the documents' examples name, so /api/year/{yyyy} has an answer;
    # the movie, show and list the examples name, so their endpoints have one too.
    mirror.play(mirror.title("A Film"), f"{example_year()}-06-01T20:00:00Z")
    mirror.library_examples(example_slug)
    mock.get(WATCHING_URL, status=204)
    mock.get(f"{TRAKT}/users/sean", json=fixture("trakt_user_profile_extended_full.json"))
    mock.get(f"{TRAKT}/users/sean/stats", json=fixture("trakt_user_stats.json"))
    mock.get(f"{TRAKT}/users/sean/history", json=[])
    add_tmdb(mock)
    return mock


def example_year() -> int:
    return openapi_document()["paths"]["/api/year/{yyyy}"]["get"]["parameters"][0]["example"]


def example_slug(path: str) -> str:
    return openapi_document()["paths"][path]["get"]["parameters"][0]["example"]


def example_url(path: str) -> str:
    """The path with its parameters filled from the document's examples."""
    return next(endpoint["url"] for endpoint in api_endpoints() if endpoint["path"] == path)


def caching_rows() -> dict[str, list[str]]:
    return {code_spans(row[0])[0]: row for row in table(section(API_DOCS, "## Caching headers"))}


@pytest.mark.parametrize("path", read_paths())
def test_get_and_head_carry_the_etag_and_answer_304_as_documented(client, upstream, path):
    assert "`HEAD`" in caching_rows()["ETag"][1]
    assert "no `ETag`" not in API_DOCS

    path = example_url(path)
    get, head = client.get(path), client.head(path)
    assert head["ETag"] == get["ETag"]
    for method in (client.get, client.head):
        not_modified = method(path, headers={"If-None-Match": get["ETag"]})
        assert not_modified.status_code == 304
        assert not_modified.content == b""


def test_cache_control_no_cache_is_sent_where_documented(client, upstream):
    listed = [span for span in code_spans(caching_rows()["Cache-Control: no-cache"][1])]

    assert set(listed) == set(read_paths()) - {"/healthz"}
    for path in listed:
        assert "no-cache" in client.get(example_url(path))["Cache-Control"], path


# --- CORS -----------------------------------------------------------------------------------


def test_the_cors_section_names_the_headers_the_server_sends_and_allows(client, upstream):
    cors = section(API_DOCS, "## CORS")
    exposed = re.search(r"`Access-Control-Expose-Headers: ([^`]+)`", cors)[1]
    allowed = re.search(r"`Access-Control-Allow-Headers: ([^`]+)`", cors)[1]

    answer = client.get("/api/watching", HTTP_ORIGIN="https://a.example")
    assert answer["Access-Control-Expose-Headers"] == exposed
    preflight = client.options(
        "/api/watching",
        HTTP_ORIGIN="https://a.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert preflight["Access-Control-Allow-Headers"] == allowed
    assert set(allowed.split(", ")) == set(django_settings.CORS_ALLOW_HEADERS)


# --- SECURITY.md ----------------------------------------------------------------------------


def test_security_md_names_every_exposed_address():
    exposed = set(code_spans(section(SECURITY, "## What the site exposes")))
    # Written as OpenAPI writes them: /api/year/<int:yyyy> is `/api/year/{yyyy}`. The static
    # files are named by their prefix.
    addresses = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        for path in urlconf_paths()
        if not path.startswith("/static/")
    }

    assert addresses <= exposed, sorted(addresses - exposed)
    assert "/static/" in exposed


def test_security_md_points_at_files_that_exist():
    for path in re.findall(r"`((?:profile|nowwatching|tests)/[\w/]+\.py)`", SECURITY):
        assert (ROOT / path).is_file(), path


# --- DEVELOPERS.md --------------------------------------------------------------------------

# Without its fenced code blocks, whose ``` would pair with the inline code spans.
DEVELOPERS = re.sub(r"```.*?```", "", (ROOT / "DEVELOPERS.md").read_text(), flags=re.S)


def test_developers_md_maps_every_room_of_the_app():
    rooms = section(DEVELOPERS, "## Where the code is going")
    listed = {
        name.split("/")[0].removesuffix(".py")
        for row in table(rooms[rooms.index("| room |") :])
        for name in code_spans(row[0])
    }
    rooms_on_disk = {
        path.name.removesuffix(".py")
        for path in (ROOT / "profile").iterdir()
        if (path / "__init__.py").exists() or path.suffix == ".py"
    }
    # The app's own wiring, which holds no feature: named in the text, not the table.
    wiring = {"__init__", "apps", "urls", "context_processors"}

    assert rooms_on_disk - wiring <= listed, sorted(rooms_on_disk - wiring - listed)


def test_developers_md_points_at_files_that_exist():
    # Paths are written from the repository's root or from profile/.
    paths = [
        span for span in code_spans(DEVELOPERS) if re.fullmatch(r"[\w]+/[\w/]*(?:\.py)?", span)
    ]

    assert len(paths) > 10
    for path in paths:
        assert (ROOT / path).exists() or (ROOT / "profile" / path).exists(), path


# --- The licence ----------------------------------------------------------------------------


def test_the_project_is_mit_licensed_and_the_openapi_document_says_so():
    licence = (ROOT / "LICENSE").read_text()
    info = openapi_document()["info"]["license"]

    assert licence.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in licence
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in licence
    # OpenAPI 3.1: an SPDX identifier names the licence exactly.
    assert info == {"name": "MIT", "identifier": "MIT"}
    assert "[MIT](LICENSE)" in (ROOT / "README.md").read_text()
