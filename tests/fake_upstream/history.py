"""The history and ratings the fake pages out, for the mirror's sync (HISTORY_DEFAULTS)."""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fake_upstream.common import DEFAULTS, fixture, iso, json_answer

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream


HISTORY_DEFAULTS = {
    "history": None,
    "history_removed": [],
    # Plays added on top of `history` (a generated one, or a list): full play items.
    "history_added": [],
    # The history moving while it is walked: each move {"before_call": n, "remove": [ids],
    # "add": [items]} is made just before the n-th history call is answered (1: the first).
    "history_moves": [],
    "history_calls": 0,
    # The n-th history call (1: the first) answers 429, once.
    "history_429_call": None,
    "history_origin": "2023-01-01T18:00:00.000Z",
    "history_step_minutes": 31,
    "history_max_page_size": None,
    # Every this-many-th play of a generated history is an episode of a show of its own (the
    # bench's show of 2,000 plays, generated_show(60)); None: the usual mix.
    "history_big_show_every": None,
    "ratings": None,
}


# The fake's state includes the history's (set with `fake.set(history=...)`).
DEFAULTS.update(HISTORY_DEFAULTS)
HISTORY_KEYS = (
    "history",
    "history_removed",
    "history_added",
    "history_origin",
    "history_step_minutes",
)


PAGE_CAP = 250


GENRES = ["drama", "comedy", "thriller", "science-fiction", "documentary", "animation",
          "crime", "romance", "horror", "fantasy", "mystery", "adventure"]  # fmt: skip


MOVIE_COUNT = 400


SHOW_COUNT = 60


EPISODES_PER_SEASON = 10


def history_answer(fake: FakeUpstream, path: str, query: dict, headers) -> tuple | str | None:
    """The answer to a history, ratings or last-activities call; None for any other path."""
    state = fake.state
    if path == "/sync/last_activities":
        if not headers.get("Authorization", "").startswith("Bearer "):
            return 401, {"Content-Type": "application/json"}, b""
        return json_answer(last_activities_body(state))
    match = re.fullmatch(r"/users/[^/]+/(history|ratings/(movies|shows|episodes))", path)
    if not match:
        return None
    page = _query_int(query, "page", 1)
    limit = min(
        _query_int(query, "limit", 10), PAGE_CAP, state["history_max_page_size"] or PAGE_CAP
    )
    if match[1] == "history":
        state["history_calls"] += 1
        _move(state)
        if state["history_429_call"] == state["history_calls"]:
            state["history_429_call"] = None  # once
            return "429"
        start = _query_time(query, "start_at")
        end = _query_time(query, "end_at")
        total, items = history_slice(state, start, end, (page - 1) * limit, limit)
    else:
        total, items = ratings_slice(state, match[2], (page - 1) * limit, limit)
    pages = -(-total // limit) if total else 0
    pagination = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(total),
    }
    status, content_headers, body = json_answer(items)
    return status, content_headers | pagination, body


def _move(state: dict) -> None:
    """The moves due before this call: plays removed, plays added (as Trakt's users do while
    a walk runs: a play deleted on its page, another marked as watched on a past day)."""
    for move in state["history_moves"]:
        if move["before_call"] == state["history_calls"]:
            state["history_removed"] = [*state["history_removed"], *move.get("remove", [])]
            state["history_added"] = [*state["history_added"], *move.get("add", [])]


def _id_order(item: dict) -> int:
    number = item.get("id")
    return number if isinstance(number, int) else -1  # a deliberately broken item


def _query_int(query: dict, name: str, default: int) -> int:
    try:
        return max(1, int(query[name][-1]))
    except (KeyError, ValueError, IndexError):
        return default


def _query_time(query: dict, name: str) -> datetime | None:
    if name not in query:
        return None
    return datetime.fromisoformat(query[name][-1])


def history_slice(state: dict, start, end, offset: int, limit: int) -> tuple[int, list]:
    """(how many plays match, the plays from `offset`), newest first."""
    history = state["history"]
    removed = set(state["history_removed"])
    if history is None:
        items = [_classic_item()]
    elif isinstance(history, list):
        items = list(history)
    elif not state["history_added"]:
        return _generated_slice(state, history, removed, start, end, offset, limit)
    else:  # a generated history with plays added: listed whole (small, in tests that move it)
        items = _generated_slice(state, history, removed, start, end, 0, history)[1]
    # Newest first; among plays of the same moment, the newest id first (as Trakt lists them).
    items = sorted(
        [*items, *state["history_added"]],
        key=lambda item: (item["watched_at"], _id_order(item)),
        reverse=True,
    )
    items = [
        item
        for item in items
        if item["id"] not in removed and _within(item["watched_at"], start, end)
    ]
    return len(items), items[offset : offset + limit]


def _within(watched_at, start, end) -> bool:
    try:
        moment = datetime.fromisoformat(watched_at)
    except (TypeError, ValueError):
        return True  # a deliberately broken item is always served
    return (start is None or moment >= start) and (end is None or moment <= end)


def _classic_item() -> dict:
    item = fixture("trakt_watching_episode.json")
    del item["started_at"], item["expires_at"]
    item["watched_at"] = iso(datetime.now(UTC) - timedelta(hours=3))
    item["id"] = 1
    return item


def _generated_slice(state, size, removed, start, end, offset, limit) -> tuple[int, list]:
    # Play i (0 the oldest) has id i + 1 and is watched at origin + i steps: indices are
    # computed, never listed, so a history of 50,000 costs nothing until a page is asked.
    origin = datetime.fromisoformat(state["history_origin"])
    step = timedelta(minutes=state["history_step_minutes"])
    low, high = 0, size - 1
    if start is not None:
        low = max(low, -(-(start - origin) // step))
    if end is not None:
        high = min(high, (end - origin) // step)
    if high < low:
        return 0, []
    indices = range(high, low - 1, -1)  # newest first
    if removed:
        indices = [i for i in indices if i + 1 not in removed]
    chosen = indices[offset : offset + limit]
    every = state["history_big_show_every"]
    return len(indices), [generated_play(i, origin + i * step, every) for i in chosen]


def _title(kind: str, number: int) -> str:
    # Some titles are unicode through and through.
    if number % 17 == 3:
        return f"Ünïcødé «{number}» 映画 🎬" if kind == "movie" else f"Série n°{number} — 東京"
    return f"Generated {'Film' if kind == 'movie' else 'Series'} {number}"


def generated_movie(number: int) -> dict:
    return {
        "title": _title("movie", number),
        "year": 1960 + number % 65,
        "ids": {
            "trakt": 500_000 + number,
            "slug": f"generated-film-{number}",
            "imdb": f"tt{9_000_000 + number}",
            "tmdb": 700_000 + number,
        },
        "runtime": 80 + number % 70,
        "genres": [GENRES[number % len(GENRES)], GENRES[(number * 7 + 3) % len(GENRES)]],
        "rating": round(5 + (number * 37 % 50) / 10, 3),
        "votes": 10 + number * 13 % 5000,
        "overview": "A generated film for the mirror's tests. " * 4,
    }


def generated_show(number: int) -> dict:
    return {
        "title": _title("show", number),
        "year": 1990 + number % 35,
        "ids": {
            "trakt": 600_000 + number,
            "slug": f"generated-series-{number}",
            "imdb": f"tt{8_000_000 + number}",
            # Show 0 has no TMDB id (its episodes must still be mirrored, without artwork).
            "tmdb": None if number == 0 else 800_000 + number,
            "tvdb": 300_000 + number,
        },
        "runtime": 25 + number % 4 * 10,
        "genres": [GENRES[(number + 5) % len(GENRES)]],
        "rating": round(6 + (number * 29 % 40) / 10, 3),
        "votes": 100 + number * 7 % 9000,
        "overview": "A generated series for the mirror's tests. " * 4,
    }


def generated_play(index: int, watched_at: datetime, big_show_every: int | None = None) -> dict:
    item = {"id": index + 1, "watched_at": iso(watched_at), "action": "scrobble"}
    big = big_show_every is not None and index % big_show_every == big_show_every - 1
    if index % 5 == 0 and not big:
        return item | {"type": "movie", "movie": generated_movie(index * 7919 % MOVIE_COUNT)}
    # Runs of seven plays of one show: seven episodes in a row.
    show = index // 7 % SHOW_COUNT
    episode = index // (7 * SHOW_COUNT) * 7 + index % 7
    if big:  # a show of its own (none of the mix's), its 80 episodes over and over
        show, episode = SHOW_COUNT, index // big_show_every % 80
    season, number = 1 + episode // EPISODES_PER_SEASON, 1 + episode % EPISODES_PER_SEASON
    return item | {
        "type": "episode",
        "show": generated_show(show),
        "episode": {
            "season": season,
            "number": number,
            "title": f"Episode {number}",
            "ids": {"trakt": 2_000_000 + show * 10_000 + episode, "tvdb": None, "imdb": None,
                    "tmdb": None},
            "runtime": None if number == 1 else 20 + show % 4 * 10,
            "rating": 7.5,
            "votes": 12,
        },
    }  # fmt: skip


def ratings_slice(state: dict, kind: str, offset: int, limit: int) -> tuple[int, list]:
    ratings = state["ratings"]
    if ratings is None:
        items = []
    elif isinstance(ratings, list):
        items = [item for item in ratings if item["type"] + "s" == kind]
    else:
        items = _generated_ratings(ratings, kind)
    return len(items), items[offset : offset + limit]


def _generated_ratings(count: int, kind: str) -> list:
    rated_at = "2024-06-01T12:00:00.000Z"
    if kind == "movies":
        return [
            {"rated_at": rated_at, "rating": 1 + n * 37 % 10, "type": "movie",
             "movie": generated_movie(n)}
            for n in range(min(count, MOVIE_COUNT))
        ]  # fmt: skip
    if kind == "shows":
        return [
            {"rated_at": rated_at, "rating": 1 + n * 13 % 10, "type": "show",
             "show": generated_show(n)}
            for n in range(0, SHOW_COUNT, 5)
        ]  # fmt: skip
    return []


def last_activities_body(state: dict) -> dict:
    """Times that move whenever the history or the ratings state changes."""

    def mark(keys) -> str:
        digest = zlib.crc32(json.dumps([state[k] for k in keys], default=str).encode())
        return iso(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=digest % 10**8))

    watched, rated = mark(HISTORY_KEYS), mark(("ratings",))
    return {
        "all": max(watched, rated),
        "movies": {"watched_at": watched, "rated_at": rated},
        "episodes": {"watched_at": watched, "rated_at": rated},
        "shows": {"rated_at": rated},
    }
