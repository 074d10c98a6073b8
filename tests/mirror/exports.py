"""Trakt data exports made in the tests, in the export's own shape (upstream-more.md, section 4):
one file per page of one API answer, `<name>.json` for a section of one page and `<name>-1.json`,
`<name>-2.json`, ... for more, as extended=gdpr answers (no runtimes, genres or ratings of the
community). The history and ratings are the loopback fake's own (tests/fake_upstream), so a
test can import an export and then sync the same history from the fake.
"""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.fake_upstream import DEFAULTS, fixture
from tests.fake_upstream.history import history_slice, ratings_slice
from tests.fake_upstream.library import (
    all_lists,
    comments,
    favorites,
    list_items,
    list_summary,
    watchlist,
)

PAGE = 250
FULL_ONLY = ("runtime", "genres", "rating", "votes", "overview")
AS_OF = (2026, 11, 30, 9, 15, 0)


def fake_state(**changes) -> dict:
    return copy.deepcopy(DEFAULTS) | changes


def gdpr(item: dict) -> dict:
    """An item as the export holds it: without what extended=full adds."""
    item = copy.deepcopy(item)
    for key in ("movie", "show", "episode"):
        if key in item:
            for extra in FULL_ONLY:
                item[key].pop(extra, None)
    return item


def history_pages(state: dict, page: int = PAGE) -> Iterator[list]:
    total, _ = history_slice(state, None, None, 0, 0)
    for offset in range(0, total, page):
        yield [gdpr(item) for item in history_slice(state, None, None, offset, page)[1]]


def sections(state: dict, slug: str = "sean", page: int = PAGE) -> Iterator[tuple[str, object]]:
    """(file name, its JSON) of a whole export, a page at a time."""
    profile = fixture("trakt_user_profile_extended_full.json")
    profile["ids"]["slug"] = slug
    profile["username"] = slug
    yield "user-profile.json", profile
    yield "user-stats.json", fixture("trakt_user_stats.json")
    yield from _paged("watched-history", history_pages(state, page))
    for kind in ("movies", "shows", "episodes"):
        _, items = ratings_slice(state, kind, 0, 10**9)
        yield from _pages(f"ratings-{kind}", items, page)
    if any(state[key] for key in ("favorites", "watchlist", "lists", "comments")):
        yield from library_sections(state, page)


def library_sections(state: dict, page: int = PAGE) -> Iterator[tuple[str, list]]:
    """The library as the export holds it: favourites, watchlist, every list of every privacy
    (one items file each, as trakt.tv writes them) and the comments by what they are on."""
    yield from _pages("lists-favorites", favorites(state), page)
    yield from _pages("lists-watchlist", watchlist(state), page)
    specs = all_lists(state)
    yield from _pages("lists-lists", [list_summary(spec) for spec in specs], page)
    for spec in specs:
        ids = spec["ids"]
        yield from _pages(f"lists-list-{ids['trakt']}-{ids['slug']}", list_items(spec), page)
    on = {"movie": "movies", "show": "shows", "season": "seasons", "episode": "episodes"}
    every = comments(state)
    for kind, name in on.items():
        yield from _pages(f"comments-{name}", [c for c in every if c["type"] == kind], page)


def _pages(name: str, items: list, page: int) -> Iterator[tuple[str, list]]:
    pages = [items[i : i + page] for i in range(0, len(items), page)] or [[]]
    return _paged(name, ([gdpr(item) for item in p] for p in pages))


def _paged(name: str, pages: Iterator[list]) -> Iterator[tuple[str, list]]:
    """Trakt's naming: `name.json` for one page, `name-1.json`, `name-2.json`, ... for more."""
    first = next(pages, [])
    second = next(pages, None)
    if second is None:
        yield f"{name}.json", first
        return
    yield f"{name}-1.json", first
    yield f"{name}-2.json", second
    for number, page in enumerate(pages, start=3):
        yield f"{name}-{number}.json", page


def write_zip(path: Path, files, *, slug: str = "sean") -> Path:
    """The export as trakt.tv makes it: trakt-export-<slug>.zip, minified JSON."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in files:
            info = zipfile.ZipInfo(name, date_time=AS_OF)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, json.dumps(body, separators=(",", ":")))
    return path


def write_folder(path: Path, files) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, body in files:
        (path / name).write_text(json.dumps(body))
    return path


def export(tmp_path: Path, *, history: int = 600, ratings: int = 30, slug: str = "sean",
           folder: bool = False, page: int = PAGE, extra=(), **state) -> Path:  # fmt: skip
    """An export of the fake's history of `history` plays (and `ratings` ratings)."""
    files = list(sections(fake_state(history=history, ratings=ratings, **state), slug, page))
    files += list(extra)
    if folder:
        return write_folder(tmp_path / f"trakt-export-{slug}", files)
    return write_zip(tmp_path / f"trakt-export-{slug}.zip", files)


AS_OF_DATE = datetime(*AS_OF, tzinfo=UTC)
