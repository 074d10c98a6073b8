"""The app's rooms and the one way their imports run (DEVELOPERS.md, "Where the code is going").

pages and api → live → mirror → signin → client, with the models and the shared rules below
them all. A module may import its own rank or lower, never higher; no two modules import
each other, however indirectly; and no import of the app hides inside a function to dodge
such a circle (Django's `AppConfig.ready()`, which must import models late, is the one place
allowed). Application modules stay short enough to read whole.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "profile"
MAX_LINES = 600

# The rank of each room: higher ones may import lower ones, never the reverse.
RANKS = {
    "profile.urls": 7,
    "profile.management": 7,
    "profile.apps": 7,
    "profile.pages": 6,
    "profile.api": 6,
    "profile.live": 5,
    "profile.ops": 5,  # running the site: migrations, backups, health (over the mirror's state)
    "profile.mirror": 4,
    "profile.signin": 3,
    "profile.demo": 2,  # installed at the client's way out by apps.py, never imported by it
    "profile.demo_library": 2,  # the demo's favourites, watchlist, lists and reviews
    "profile.client": 1,
    "profile.decorators": 0,
    "profile.errors": 0,
    "profile.context_processors": 0,
    "profile.templatetags": 0,
    "profile.formatting": 0,
    "profile.models": 0,
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def rank(module: str) -> int:
    for prefix, value in RANKS.items():
        if module == prefix or module.startswith(prefix + "."):
            return value
    raise AssertionError(f"{module} belongs to no room: add it to RANKS and DEVELOPERS.md")


def app_imports(tree: ast.Module, known: set[str]) -> list[tuple[str, ast.AST, bool]]:
    """(module imported, node, whether at the module's top level) for each import of the app."""
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        # `from profile.mirror import sync` imports the package profile.mirror.sync.
        for name in names:
            if name in known and name != "profile":
                found.append((name, node, id(node) in top))
    return found


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        module: {name for name, _, _ in app_imports(parse(path), known) if name != module}
        for module, path in found.items()
    }


def test_every_module_of_the_app_belongs_to_a_room():
    for module in modules():
        if module != "profile":
            rank(module)


def test_imports_run_one_way_from_the_pages_down_to_the_client():
    upward = [
        f"{module} ({rank(module)}) imports {name} ({rank(name)})"
        for module, names in graph().items()
        if module != "profile"
        for name in names
        if rank(name) > rank(module)
    ]

    assert not upward


def test_no_module_imports_itself_through_others():
    edges = graph()
    # A package's __init__ may re-export its own modules: that is not a circle between rooms.
    edges = {
        module: {name for name in names if not name.startswith(module + ".")}
        for module, names in edges.items()
    }
    state: dict[str, str] = {}
    circles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for name in sorted(edges.get(module, ())):
            if state.get(name) == "open":
                circles.append(trail[trail.index(name) :] + [name])
            elif name not in state:
                visit(name, [*trail, name])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])

    assert not circles


def test_no_import_of_the_app_hides_inside_a_function():
    found = modules()
    hidden = []
    for module, path in found.items():
        tree = parse(path)
        allowed = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and node.name == "ready"
            and module.endswith("apps")
            for inner in ast.walk(node)
        }
        hidden += [
            f"{module}:{node.lineno} imports {name}"
            for name, node, at_top in app_imports(tree, set(found))
            if not at_top and id(node) not in allowed
        ]

    assert not hidden


@pytest.mark.parametrize("folder", ["profile", "nowwatching"])
def test_no_module_is_longer_than_can_be_read_whole(folder):
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]

    assert not long


def test_the_check_finds_an_upward_import():
    # The checks above can fail: a client module importing the mirror is seen.
    bad = ast.parse(
        "from profile.mirror import state\n\n\ndef f():\n    from profile import models\n"
    )
    imports = app_imports(bad, {"profile.mirror", "profile.mirror.state", "profile.models"})

    assert [(name, at_top) for name, _, at_top in imports] == [
        ("profile.mirror", True),
        ("profile.mirror.state", True),
        ("profile.models", False),
    ]
    assert rank("profile.mirror.state") > rank("profile.client.http")
