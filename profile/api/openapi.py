"""The OpenAPI document (profile/openapi.json): the API's contract, served at
/api/openapi.json and read by /api-test to list the endpoints."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from urllib.parse import quote

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"


@cache  # read once per process: the file only changes with a deploy
def openapi_text() -> str:
    return OPENAPI_PATH.read_text()


def openapi_document() -> dict:
    return json.loads(openapi_text())


def api_endpoints(values: dict | None = None) -> list[dict]:
    """Every GET operation of the document: its name (operationId), path and summary, a URL
    to call (path parameters filled from `values`, by "operationId.name" or by name, else
    from their examples), and its parameters as /api-test draws their inputs."""
    endpoints = []
    for path, item in openapi_document()["paths"].items():
        if not (operation := item.get("get")):
            continue
        url = path
        parameters = []
        for parameter in operation.get("parameters", []):
            value = ""
            if parameter["in"] == "path":
                name, given = parameter["name"], values or {}
                # A value for this operation's parameter ("movie.slug"), or for any "yyyy".
                value = given.get(f"{operation['operationId']}.{name}", given.get(name))
                value = str(parameter.get("example", "") if value is None else value)
                url = url.replace("{" + name + "}", quote(value, safe=""))
            parameters.append(parameter_input(parameter, value))
        endpoints.append(
            {
                "name": operation["operationId"],
                "path": path,
                "url": url,
                "summary": operation["summary"],
                "parameters": parameters,
            }
        )
    return endpoints


def parameter_input(parameter: dict, value: str = "") -> dict:
    """How /api-test asks for a parameter: a choice for an enum, a number or a date field
    with the document's bounds, else a text field; its default (or example) as the hint."""
    schema = parameter.get("schema", {})
    hint = schema.get("default", parameter.get("example", ""))
    field = {
        "name": parameter["name"],
        "in": parameter["in"],
        "required": parameter.get("required", False),
        "description": parameter.get("description", "").replace("`", ""),
        "value": value,
        "hint": "" if hint == "" else str(hint),
        "kind": "text",
        "choices": [],
        "suggestions": [str(example) for example in schema.get("examples", [])],
        "min": schema.get("minimum", ""),
        "max": schema.get("maximum", ""),
    }
    if "enum" in schema:
        field |= {"kind": "choice", "choices": schema["enum"]}
    elif schema.get("type") == "integer":
        field["kind"] = "number"
    elif schema.get("format") == "date":
        field["kind"] = "date"
    return field
