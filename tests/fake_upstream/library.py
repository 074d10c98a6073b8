"""The owner's library the fake pages out, for the mirror's sync (LIBRARY_DEFAULTS): the
favourites, the watchlist, the lists (of every privacy) and their items, and the comments.

State:
- `favorites`, `watchlist`, `comments`: a count (generated items) or a list of bodies;
- `lists`: a list of specs, {"name", "privacy", "items" (a count or bodies), ...} (see
  `list_summary`); every privacy is answered, as Trakt answers the owner's token;
- `library_moves`: {section: state changes}, applied once right after the first page of that
  section (favorites, watchlist, lists, items, comments) was answered: what moved on Trakt
  while the sync was walking it;
- `library_refused`: sections answered 401 without the owner's token.

Like Trakt since April 2026, a call without `limit` gets the first 100 items and headers
that say that was all.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fake_upstream.common import DEFAULTS, json_answer
from tests.fake_upstream.history import (
    PAGE_CAP,
    generated_movie,
    generated_show,
    last_activities_body,
)

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream

LIBRARY_DEFAULTS = {
    "favorites": [],
    "watchlist": [],
    "lists": [],
    "comments": [],
    "library_moves": {},
    # Sections answered 401 without the owner's token (Trakt's contract allows it).
    "library_refused": [],
}
DEFAULTS.update(LIBRARY_DEFAULTS)

UNPAGED = 100  # what an unpaged call gets
LISTED_AT = datetime(2025, 3, 1, 12, tzinfo=UTC)

_PATH = re.compile(
    r"/users/[^/]+/(?P<section>favorites|watchlist|lists|comments/all/all)"
    r"|/users/[^/]+/lists/(?P<list>\d+)/items"
)


def library_answer(fake: FakeUpstream, path: str, query: dict, headers) -> tuple | None:
    """The answer to a library call (or to last_activities, the history's and the
    library's times together); None for any other path."""
    if path == "/sync/last_activities":
        if not headers.get("Authorization", "").startswith("Bearer "):
            return 401, {"Content-Type": "application/json"}, b""
        body = last_activities_body(fake.state)
        for group, times in library_marks(fake.state).items():
            body[group] = body.get(group, {}) | times
        return json_answer(body)
    match = _PATH.fullmatch(path)
    if not match:
        return None
    state = fake.state
    if match["list"]:
        spec = next((s for s in all_lists(state) if s["ids"]["trakt"] == int(match["list"])), None)
        if spec is None:
            return 404, {"Content-Type": "application/json"}, b"[]"
        section, items = "items", list_items(spec)
    else:
        section = match["section"].split("/")[0]
        owner = headers.get("Authorization", "").startswith("Bearer ")
        if section in state["library_refused"] and not owner:
            return 401, {"Content-Type": "application/json"}, b""
        items = {
            "favorites": lambda: favorites(state),
            "watchlist": lambda: watchlist(state),
            "lists": lambda: [list_summary(spec) for spec in all_lists(state)],
            "comments": lambda: comments(state),
        }[section]()
    page = max(1, int(query.get("page", ["1"])[-1]))
    asked = query.get("limit", [None])[-1]
    limit = min(int(asked), PAGE_CAP) if asked else UNPAGED
    total = len(items) if asked else min(len(items), UNPAGED)
    chosen = items[(page - 1) * limit : page * limit] if asked else items[:UNPAGED]
    pages = -(-total // limit) if total else 0
    headers = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(total),
    }
    if page == 1 and section in state["library_moves"]:
        fake.state = state | state["library_moves"][section]
        fake.state["library_moves"] = {
            k: v for k, v in state["library_moves"].items() if k != section
        }
    status, content, body = json_answer(chosen)
    return status, content | headers, body


def _at(n: int) -> str:
    return (LISTED_AT + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def unwatched_movie(number: int) -> dict:
    """A movie the generated history never plays (its catalogue ends at 400)."""
    return generated_movie(10_000 + number) | {"title": f"Wanted Film {number}"}


def listed(media: dict, rank: int, notes: str | None = None) -> dict:
    """A listed-item wrapper around a media body ({"type": ..., "movie": ...})."""
    return {"rank": rank, "id": 70_000 + rank, "listed_at": _at(rank), "notes": notes} | media


def movie(body: dict) -> dict:
    return {"type": "movie", "movie": body}


def show(body: dict) -> dict:
    return {"type": "show", "show": body}


def season_of(number: int, season: int) -> dict:
    body = generated_show(number)
    ids = {"trakt": 3_000_000 + number * 100 + season, "tmdb": None, "tvdb": None}
    return {"type": "season", "season": {"number": season, "ids": ids}, "show": body}


def episode_of(number: int, season: int, episode: int) -> dict:
    body = generated_show(number)
    ids = {"trakt": 4_000_000 + number * 1000 + season * 100 + episode, "tvdb": None,
           "imdb": None, "tmdb": None}  # fmt: skip
    return {
        "type": "episode",
        "episode": {
            "season": season,
            "number": episode,
            "title": f"Episode {episode}",
            "ids": ids,
            "runtime": 30,
        },  # fmt: skip
        "show": body,
    }


def generated_items(count: int) -> list[dict]:
    """`count` items, each once: a season and an episode, then mostly movies nobody watched
    yet, a watched movie and a show now and then."""
    items = []
    for n in range(count):
        if n == 1:
            media = season_of(1, 2)
        elif n == 2:
            media = episode_of(2, 1, 4)
        elif n % 10 == 3:
            media = show(generated_show(n // 10 % 60))
        elif n % 10 == 7:
            media = movie(generated_movie(n // 10 % 400))  # one the history plays
        else:
            media = movie(unwatched_movie(n))
        items.append(listed(media, n + 1))
    return items


def favorites(state: dict) -> list[dict]:
    spec = state["favorites"]
    if isinstance(spec, list):
        return spec
    return [
        listed(movie(generated_movie(n)) if n % 3 else show(generated_show(n)), n + 1)
        for n in range(spec)
    ]


def watchlist(state: dict) -> list[dict]:
    spec = state["watchlist"]
    return spec if isinstance(spec, list) else generated_items(spec)


def all_lists(state: dict) -> list[dict]:
    """Each list spec completed: ids, description, privacy, items."""
    specs = []
    for n, spec in enumerate(state["lists"]):
        name = spec.get("name", f"List {n + 1}")
        slug = spec.get("slug") or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        specs.append(
            {
                "name": name,
                "description": spec.get("description", f"The description of {name}."),
                "privacy": spec.get("privacy", "public"),
                "ids": {"trakt": spec.get("trakt", 800 + n), "slug": slug},
                "items": spec.get("items", 3),
                "updated_at": spec.get("updated_at", _at(n)),
            }
        )
    return specs


def list_summary(spec: dict) -> dict:
    items = list_items(spec)
    return {
        "name": spec["name"],
        "description": spec["description"],
        "privacy": spec["privacy"],
        "share_link": f"https://trakt.tv/lists/{spec['ids']['trakt']}",
        "type": "personal",
        "display_numbers": True,
        "allow_comments": True,
        "sort_by": "rank",
        "sort_how": "asc",
        "created_at": _at(0),
        "updated_at": spec["updated_at"],
        "item_count": len(items),
        "comment_count": 0,
        "likes": 2,
        "ids": spec["ids"],
    }


def list_items(spec: dict) -> list[dict]:
    items = spec["items"]
    if isinstance(items, list):
        return items
    # Each list its own titles: offset by the list's id.
    offset = spec["ids"]["trakt"] * 7
    return [
        listed(movie(unwatched_movie(offset + n)), n + 1, notes=f"Note {n + 1}")
        for n in range(items)
    ]


def comment(number: int, media: dict, text: str, **fields) -> dict:
    body = {
        "id": 90_000 + number,
        "parent_id": 0,
        "created_at": _at(number),
        "updated_at": _at(number),
        "comment": text,
        "spoiler": False,
        "review": False,
        "replies": 0,
        "likes": number % 4,
        "user_rating": None,
        "user_stats": {"rating": None, "play_count": 1, "completed_count": 1},
    }
    return {"type": media["type"], "comment": body | fields} | media


def comments(state: dict) -> list[dict]:
    spec = state["comments"]
    if isinstance(spec, list):
        return spec
    found = []
    for n in range(spec):
        media = movie(generated_movie(n % 400)) if n % 2 else show(generated_show(n % 60))
        review = n % 5 == 0
        text = ("A long review. " * 20 if review else "A shout.") + f" (comment {n})"
        found.append(
            comment(n, media, text, review=review, spoiler=n % 7 == 0, user_rating=1 + n % 10)
        )
    return found


def library_marks(state: dict) -> dict:
    """The last_activities times of the library: each moves when its state does."""

    def mark(*keys) -> str:
        digest = zlib.crc32(json.dumps([state[k] for k in keys], default=str).encode())
        return (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=digest % 10**8)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )

    favorited, watchlisted = mark("favorites"), mark("watchlist")
    commented, listed_ = mark("comments"), mark("lists")
    return {
        "movies": {"favorited_at": favorited, "watchlisted_at": watchlisted,
                   "commented_at": commented},
        "shows": {"favorited_at": favorited, "watchlisted_at": watchlisted,
                  "commented_at": commented},
        "seasons": {"watchlisted_at": watchlisted, "commented_at": commented},
        "episodes": {"watchlisted_at": watchlisted, "commented_at": commented},
        "watchlist": {"updated_at": watchlisted},
        "favorites": {"updated_at": favorited},
        "lists": {"updated_at": listed_},
    }  # fmt: skip
