"""Whom the owner follows, what they watch, and Trakt's id lookup (SOCIAL_DEFAULTS).

    fake.set(following=200)                        # friend-1 .. friend-200
    fake.set(following=["sam", "alex"])            # or by slug
    fake.set(friends_watching={"sam": "movie"})    # sam watches the movie fixture (else 204)
    fake.set(private_friends=["alex"], vanished_friends=["kim"])

`friends_watching` values: "movie" or "episode" (the fixtures, started `friend_started_minutes_ago`
minutes ago), or {"title": ..., "type": "movie", "tmdb": ...} for another film. A private
friend's /watching answers 401 with X-Private-User, a vanished one 404.

The id lookup (/search/{imdb|tmdb|tvdb}/{id}?type=) knows the fixtures' film (Super 8) and
episode (Breaking Bad S0E2) by every id they have, and the show by its own; anything else is
an empty list, as Trakt answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fake_upstream.common import DEFAULTS, fixture, iso, json_answer

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream

SOCIAL_DEFAULTS = {
    "following": [],  # slugs, or a number of generated friends
    "friends_watching": {},  # slug: "movie" | "episode" | {"title", "type", "tmdb", "imdb"}
    "friend_started_minutes_ago": 20,
    "private_friends": [],
    "vanished_friends": [],
    "lookups": True,  # False: the id lookup knows nothing (an empty list for every id)
}
DEFAULTS.update(SOCIAL_DEFAULTS)

_USER = re.compile(r"/users/([^/]+)/(following|watching)")
_SEARCH = re.compile(r"/search/(imdb|tmdb|tvdb)/([^/]+)")


def following_slugs(fake: FakeUpstream) -> list[str]:
    following = fake.state["following"]
    if isinstance(following, int):
        return [f"friend-{number}" for number in range(1, following + 1)]
    return list(following)


def social_answer(fake: FakeUpstream, path: str, query: dict) -> tuple[int, dict, bytes] | None:
    """The answer to a social or lookup call; None for any other path."""
    if match := _SEARCH.fullmatch(path):
        return json_answer(lookup(fake, match[1], match[2], (query.get("type") or [""])[0]))
    match = _USER.fullmatch(path)
    if match is None or match[1] in ("sean", "me"):
        return None  # the owner's own (server.py)
    slug, what = match[1], match[2]
    if what == "following":
        return None
    if slug in fake.state["vanished_friends"] or slug not in following_slugs(fake):
        return 404, {}, b""
    if slug in fake.state["private_friends"]:
        return 401, {"X-Private-User": "true"}, b""
    body = friend_watching(fake, slug)
    return (204, {}, b"") if body is None else json_answer(body)


def following_answer(fake: FakeUpstream, query: dict) -> tuple[int, dict, bytes]:
    slugs = following_slugs(fake)
    limit = int((query.get("limit") or ["100"])[0])
    page = int((query.get("page") or ["1"])[0])
    chosen = slugs[(page - 1) * limit : page * limit]
    items = [
        {
            "followed_at": "2024-01-01T00:00:00.000Z",
            "user": {
                "username": slug,
                "private": slug in fake.state["private_friends"],
                "deleted": False,
                "name": slug.replace("-", " ").title(),
                "ids": {"slug": slug},
            },
        }
        for slug in chosen
    ]
    status, headers, body = json_answer(items)
    pages = max(1, -(-len(slugs) // limit))
    headers = headers | {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(len(slugs)),
    }
    return status, headers, body


def friend_watching(fake: FakeUpstream, slug: str) -> dict | None:
    what = fake.state["friends_watching"].get(slug)
    if what is None:
        return None
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(
        minutes=fake.state["friend_started_minutes_ago"]
    )
    if isinstance(what, dict):
        body = fixture("trakt_watching_movie.json")
        movie = body["movie"]
        movie["title"] = what.get("title", movie["title"])
        movie["ids"] = {"trakt": what.get("trakt", 999), "slug": "other", "tmdb": what.get("tmdb")}
    else:
        body = fixture(f"trakt_watching_{what}.json")
    body["action"] = "scrobble"
    body["started_at"] = iso(started)
    body["expires_at"] = iso(started + timedelta(minutes=112 if body["type"] == "movie" else 45))
    return body


def lookup(fake: FakeUpstream, id_type: str, value: str, kind: str) -> list:
    if not fake.state["lookups"]:
        return []
    movie = fixture("trakt_watching_movie.json")["movie"]
    episode_body = fixture("trakt_watching_episode.json")
    episode, show = episode_body["episode"], episode_body["show"]
    if kind == "movie" and str(movie["ids"].get(id_type)) == value:
        return [{"type": "movie", "score": 1000, "movie": movie}]
    if kind == "episode" and str(episode["ids"].get(id_type)) == value:
        return [{"type": "episode", "score": 1000, "episode": episode, "show": show}]
    if kind == "show" and str(show["ids"].get(id_type)) == value:
        return [{"type": "show", "score": 1000, "show": show}]
    return []
