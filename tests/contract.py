"""The OpenAPI document as a test oracle: does this answer match what profile/openapi.json says?

    assert_matches_openapi(client.get("/api/watching"), "/api/watching")

Works with a Django test-client response, a `requests` response or an `urllib` answer
(`Answer.read(response)` reads one before it is closed). JSON bodies are validated with jsonschema against the schema documented for
that path, method and status; other bodies (an SVG card) only by status and content type.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from profile import errors
from profile.api.openapi import openapi_document

DOCUMENT_URI = "urn:nowwatching:openapi"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]

    @classmethod
    def read(cls, response) -> Answer:
        """An answer from urllib (a response or an HTTPError), read before it is closed."""
        headers = {name.lower(): value for name, value in response.headers.items()}
        return cls(response.status, headers.get("content-type", ""), response.read(), headers)


def _answer(response) -> Answer:
    if isinstance(response, Answer):
        return response
    if not hasattr(response, "status_code"):
        return Answer.read(response)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Answer(response.status_code, headers.get("content-type", ""), response.content, headers)


def operations() -> list[tuple[str, str, dict]]:
    """(path, method, operation) of the document's operations: GET for the API, POST for the
    media servers' webhooks (a HEAD the card documents is its GET without a body)."""
    return [
        (path, method, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post")
    ]


def read_paths() -> list[str]:
    """The paths programs read (GET and HEAD): the ones the caching rules are about."""
    return [path for path, method, _ in operations() if method == "get"]


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(openapi_document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, resource)


def validator_for(pointer: str) -> Draft202012Validator:
    """A validator for the schema at `pointer` in the document; its $refs resolve in it."""
    return Draft202012Validator(
        {"$ref": DOCUMENT_URI + pointer},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def assert_matches_openapi(response, path: str, method: str = "get") -> None:
    """Fail unless the document has this path, method and status, and the body fits its schema."""
    answer = _answer(response)
    paths = openapi_document()["paths"]
    assert path in paths, f"{path} is not in the OpenAPI document"
    # HEAD is documented as GET without a body.
    operation_method = "get" if method == "head" else method
    operation = paths[path].get(operation_method)
    assert operation is not None, f"{method.upper()} {path} is not in the OpenAPI document"
    documented = operation["responses"]
    status = str(answer.status)
    assert status in documented, (
        f"{method.upper()} {path} answered {status}, which is not documented "
        f"(documented: {', '.join(documented)})"
    )
    spec = documented[status]

    for name, header in spec.get("headers", {}).items():
        header = _resolve(header)
        if header.get("required"):
            assert name.lower() in answer.headers, f"{path} {status}: no {name} header"

    content = spec.get("content")
    if not content or method == "head":
        assert answer.body == b"", f"{path} {status} should have no body"
        return
    media_type = answer.content_type.split(";")[0].strip()
    assert media_type in content, f"{path} {status}: content type {media_type!r} is not documented"
    if media_type != "application/json":
        return
    body = json.loads(answer.body)
    pointer = _pointer("paths", path, operation_method, "responses", status, "content")
    errors = sorted(
        validator_for(pointer + "/application~1json/schema").iter_errors(body),
        key=lambda error: list(error.absolute_path),
    )
    assert not errors, f"{path} {status} does not match its schema:\n" + "\n".join(
        f"  at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in errors
    )


def _resolve(item: dict) -> dict:
    ref = item.get("$ref")
    if ref is None:
        return item
    node = openapi_document()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def urlconf_paths(patterns=None, prefix: str = "/") -> set[str]:
    """Every route of the URLconf as a path ("/api/watching"), includes flattened."""
    found: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        # A path parameter is written as OpenAPI writes it: <int:yyyy> is {yyyy}.
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            found |= urlconf_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and pattern.name != errors.API_NOT_FOUND:
            found.add(route)
    return found
