"""The production install is the runtime alone (`make serve` and the image install
requirements.lock with --require-hashes): every runtime dependency pinned with hashes, at a
version pyproject.toml allows, and nothing of the development extra in it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Pulled in by the development tools only: none of them may reach production.
DEV_ONLY = {"playwright", "greenlet", "pyee", "hypothesis", "pytest", "ruff", "schemathesis",
            "responses", "jsonschema", "time-machine", "werkzeug", "axe-playwright-python"}  # fmt: skip


def locked() -> dict[str, tuple[str, list[str]]]:
    """Each pinned package of requirements.lock: its version and its hashes."""
    text = (ROOT / "requirements.lock").read_text()
    found = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        pin = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\;]+)", block)
        if pin:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            found[canonicalize_name(pin[1])] = (pin[2], hashes)
    return found


def test_every_runtime_dependency_is_pinned_with_hashes_at_an_allowed_version():
    pins = locked()

    for line in PROJECT["dependencies"]:
        wanted = Requirement(line)
        version, _ = pins[canonicalize_name(wanted.name)]
        assert wanted.specifier.contains(version), (line, version)
    assert all(hashes for _, hashes in pins.values())


def test_no_development_tool_is_in_the_production_install():
    dev = {canonicalize_name(Requirement(line).name) for line in PROJECT["optional-dependencies"]["dev"]}  # fmt: skip
    names = set(locked())

    assert not names & (dev | {canonicalize_name(n) for n in DEV_ONLY})


def test_make_serve_and_the_image_install_the_lock_alone():
    makefile = (ROOT / "Makefile").read_text()
    serve = re.search(r"\n\$\(SERVE_STAMP\):.*?\n\n", makefile, re.S)[0]
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "--require-hashes -r requirements.lock" in serve and "[dev]" not in serve
    assert "serve: $(SERVE_STAMP)" in makefile
    assert "--require-hashes" in dockerfile and "-r /tmp/requirements.lock" in dockerfile
    assert "[dev]" not in dockerfile
