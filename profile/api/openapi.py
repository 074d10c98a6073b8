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


def api_endpoints(values: dict | None = None) -> list[dict[str, str]]:
    """Every GET operation of the document: its name (operationId), path and summary, and a
    URL to call (path parameters filled from `values`, else from their examples)."""
    endpoints = []
    for path, item in openapi_document()["paths"].items():
        if not (operation := item.get("get")):
            continue
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                name = parameter["name"]
                value = (values or {}).get(name, parameter.get("example", ""))
                url = url.replace("{" + name + "}", quote(str(value), safe=""))
        endpoints.append(
            {
                "name": operation["operationId"],
                "path": path,
                "url": url,
                "summary": operation["summary"],
            }
        )
    return endpoints
