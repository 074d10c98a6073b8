"""The demo's library, answered like Trakt's: favourites, a watchlist (movies the history never
plays, a season, an episode), three public lists and a private one (which the site must
never show), and reviews and shouts, one review a spoiler from end to end and one with a
[spoiler] inside. `reply()` answers these and leaves everything else to `profile.demo`; it
is what profile/apps.py installs at the client's one way out.
"""

from __future__ import annotations

import re

from profile import demo
from profile.client.http import Reply
from profile.demo import _movie, _show

# Titles the demo's history never plays: what the watchlist and the lists add.
WANTED = [
    _movie(930001, "The Lantern Archive", 2026, 124, "mystery drama", 7.4, 820),
    _movie(930002, "Northbound Freight", 2025, 108, "thriller", 6.9, 1310),
    _movie(930003, "A Garden in Winter", 2024, 96, "drama romance", 7.8, 640),
    _movie(930004, "Tidepool", 2023, 88, "animation family", 7.2, 450),
    _movie(930005, "The Signal Keepers", 2026, 131, "science-fiction", 7.0, 2100),
    _movie(930006, "Small Hours", 2022, 101, "crime drama", 7.5, 990),
    _show(940001, "The Ferryman's Log", 2025, 50, "drama mystery", 8.0, 2400, (8,)),
    _show(940002, "Coastline", 2024, 30, "documentary", 7.9, 700, (6,)),
]
TITLES = {t.title: t for t in (*demo.MOVIES, *demo.SHOWS, *WANTED)}
_BY_TRAKT = {t.trakt: t for t in WANTED}


def _at(day: str) -> str:
    return f"{day}T19:30:00.000Z"


def _item(rank: int, name: str, notes: str | None = None, listed: str = "2025-09-01") -> dict:
    title = TITLES[name]
    kind = "show" if title.seasons else "movie"
    return {
        "rank": rank,
        "id": 80_000 + title.trakt % 10_000 * 10 + rank,
        "listed_at": _at(listed),
        "notes": notes,
        "type": kind,
        kind: title.body(kind),
    }


def _season(rank: int, show: str, number: int, listed: str) -> dict:
    title = TITLES[show]
    ids = {"trakt": title.trakt * 10 + number, "tmdb": None, "tvdb": None}
    return {
        "rank": rank,
        "id": 89_000 + rank,
        "listed_at": _at(listed),
        "notes": None,
        "type": "season",
        "season": {"number": number, "ids": ids},
        "show": title.body("show"),
    }


def _episode(rank: int, show: str, index: int, listed: str) -> dict:
    title = TITLES[show]
    return {
        "rank": rank,
        "id": 89_500 + rank,
        "listed_at": _at(listed),
        "notes": None,
        "type": "episode",
        "episode": demo._episode(title, index),
        "show": title.body("show"),
    }


FAVORITES = [
    _item(1, "The Cartographer's Daughter", "Maps, a lighthouse and a father who lies well."),
    _item(2, "Quiet Machines"),
    _item(3, "Saltmarsh", "The best thing on television, fight me."),
    _item(4, "The Orchard Keeper's Song"),
    _item(5, "Brass & Steam"),
    _item(6, "The Quiet Orbit"),
]

WATCHLIST = [
    _item(1, "The Lantern Archive", "Opens in March.", "2026-01-05"),
    _item(2, "The Ferryman's Log", None, "2025-12-20"),
    _item(3, "A Garden in Winter", "Everyone says: bring tissues.", "2025-11-02"),
    _season(4, "Wildwood", 3, "2025-10-14"),
    _item(5, "Northbound Freight", None, "2025-10-01"),
    _episode(6, "Parallel Lines", 7, "2025-09-20"),
    _item(7, "Tidepool", None, "2025-08-30"),
    _item(8, "The Signal Keepers", None, "2025-08-02"),
    _item(9, "Coastline", None, "2025-07-11"),
    _item(10, "Small Hours", None, "2025-06-28"),
]


def _list(trakt: int, name: str, privacy: str, description: str, items: list[dict]) -> dict:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return {
        "summary": {
            "name": name,
            "description": description,
            "privacy": privacy,
            "type": "personal",
            "display_numbers": True,
            "allow_comments": True,
            "sort_by": "rank",
            "sort_how": "asc",
            "created_at": _at("2024-06-01"),
            "updated_at": _at("2025-11-20"),
            "item_count": len(items),
            "comment_count": 0,
            "likes": trakt % 17,
            "ids": {"trakt": trakt, "slug": slug},
        },
        "items": items,
    }


def _ranked(*names: str) -> list[dict]:
    return [_item(rank, name) for rank, name in enumerate(names, start=1)]


LISTS = [
    _list(
        970001, "Rainy Sundays", "public", "Slow films for grey afternoons, tea within reach.",
        _ranked("Paper Lanterns", "A Garden in Winter", "Slow Rivers",
                "The Orchard Keeper's Song", "Winter Garden", "Beneath the Salt"),
    ),
    _list(
        970002, "Best of 2024", "public", "The year's five that stayed.",
        _ranked("The Quiet Orbit", "Static Bloom", "Little Volcano", "Tidepool",
                "Marmalade Summer"),
    ),
    _list(
        970003, "Films about the sea", "public", "Harbours, ferries and what the tide keeps.",
        _ranked("The Last Ferry to Ilha", "Glass Harbour", "Low Tide", "Beneath the Salt",
                "Saltmarsh", "The Ferryman's Log"),
    ),
    # Private on Trakt: the site must never store, show or answer it.
    _list(
        970004, "Guilty Pleasures Nobody Sees", "private", "Never tell anyone about these.",
        _ranked("Northern Lights, Southern Hearts", "The Great Indoors", "Iron & Lace"),
    ),
]  # fmt: skip


def _comment(number: int, media: dict, text: str, day: str, **fields) -> dict:
    body = {
        "id": 950_000 + number,
        "parent_id": 0,
        "created_at": _at(day),
        "updated_at": _at(day),
        "comment": text,
        "spoiler": False,
        "review": False,
        "replies": number % 3,
        "likes": 2 + number * 3 % 11,
        "user_rating": None,
        "language": "en",
    }
    return {"type": media["type"], "comment": body | fields} | media


def _on(name: str) -> dict:
    title = TITLES[name]
    kind = "show" if title.seasons else "movie"
    return {"type": kind, kind: title.body(kind)}


_FERRY = {"type": "episode", "episode": demo._episode(TITLES["Saltmarsh"], 12),
          "show": TITLES["Saltmarsh"].body("show")}  # fmt: skip
_SEASON_TWO = {
    "type": "season",
    "season": {"number": 2, "ids": {"trakt": 9_000_022, "tmdb": None, "tvdb": None}},
    "show": TITLES["Saltmarsh"].body("show"),
}

COMMENTS = [
    _comment(
        1, _on("The Quiet Orbit"),
        "A film about waiting that never once feels like waiting. The station is a character "
        "of its own: every hum and click of it is mixed so carefully that the silence in the "
        "last act lands like a held breath. Quiet science fiction at its best.",
        "2025-11-22", review=True, user_rating=9,
    ),
    _comment(
        2, _FERRY,
        "The ferry was never going to reach the other shore, and the moment Mara cuts the "
        "rope herself is the bravest thing the show has done. Nothing about the finale makes "
        "sense without this hour.",
        "2025-10-04", review=True, spoiler=True, user_rating=10,
    ),
    _comment(
        3, _on("The Cartographer's Daughter"),
        "Sweeping, old-fashioned adventure with a real heart. The map sequences are "
        "gorgeous. [spoiler]The father drew the false coast on purpose, to keep her home.[/spoiler] "
        "Watched it three times and it still works.",
        "2025-08-16", review=True, user_rating=10,
    ),
    _comment(4, _on("Quiet Machines"), "The little robot's walk gets me every time.",
             "2025-07-03", user_rating=10),
    _comment(5, _SEASON_TWO, "Season two is where Saltmarsh finds its voice.", "2025-06-12"),
    _comment(
        6, _on("Low Tide"),
        "Gorgeous coastline, hollow scares. Two good jumps and a lot of wet corridors; the "
        "ending explains what would have been better left alone.",
        "2025-03-09", review=True, user_rating=4,
    ),
]  # fmt: skip

_PATH = re.compile(
    r"/users/[^/]+/(?P<section>favorites|watchlist|lists|comments/all/all)"
    r"|/users/[^/]+/lists/(?P<list>\d+)/items"
)
_IMAGES = re.compile(r"/(movie|tv)/(\d+)/images")


def reply(service: str, method: str, path: str, params: dict, json_body=None) -> Reply:
    """The demo library's answers; the rest of the demo's (profile.demo.reply) otherwise."""
    if service == "tmdb" and (match := _IMAGES.fullmatch(path)):
        title = _BY_TRAKT.get(int(match[2]))
        if title is not None:
            return demo._json({"backdrops": [], "posters": [demo._image(title.poster, 1000)]})
    if service == "trakt" and (match := _PATH.fullmatch(path)):
        if match["list"]:
            found = [
                entry for entry in LISTS if entry["summary"]["ids"]["trakt"] == int(match["list"])
            ]
            return demo._paged(found[0]["items"], params) if found else Reply(404, {}, b"")
        items = {
            "favorites": FAVORITES,
            "watchlist": WATCHLIST,
            "lists": [entry["summary"] for entry in LISTS],
            "comments/all/all": COMMENTS,
        }[match["section"]]
        return demo._paged(items, params)
    return demo.reply(service, method, path, params, json_body)
