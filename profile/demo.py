"""Built-in sample data for DEMO_MODE, answered at the HTTP layer of `profile.client`.

It replies with Trakt- and TMDB-shaped bodies, so parsing, caching, the history sync, views
and templates run the same code as with real keys. The data is time-relative: when the site
starts, a film started 37 minutes ago and moves on its own; after it, a short idle spell, then
an episode, then idle again, round and round. Before that, three years of history generated
day by day (the same plays for the same day, every time), which the sync mirrors like a real
one; each film or episode of the timeline joins the history when it ends. The titles are
made up, and the artwork is our own, under static/demo/.
"""

from __future__ import annotations

import json
import mimetypes
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from profile.client.http import Reply

EPOCH_KEY = "nowwatching:v1:demo:epoch"
MINUTE = 60


@dataclass(frozen=True)
class Slot:
    kind: str  # "movie", "episode" or "idle"
    minutes: int


# One turn of the demo timeline; it starts 37 minutes into the film.
TIMELINE = (Slot("movie", 118), Slot("idle", 8), Slot("episode", 52), Slot("idle", 8))
STARTED_MINUTES_AGO = 37

MOVIE = {
    "title": "The Quiet Orbit",
    "year": 2024,
    "ids": {"trakt": 900001, "slug": "the-quiet-orbit-2024", "imdb": None, "tmdb": 900001},
}
SHOW = {
    "title": "Saltmarsh",
    "year": 2022,
    "ids": {"trakt": 900002, "slug": "saltmarsh", "tvdb": None, "imdb": None, "tmdb": 900002},
}
EPISODE = {
    "season": 2,
    "number": 5,
    "title": "The Night Ferry",
    "ids": {"trakt": 900003, "tvdb": None, "imdb": None, "tmdb": 900003},
}

PROFILE = {
    "username": "demo",
    "private": False,
    "name": "Alex Rivera",
    "vip": True,
    "vip_ep": False,
    "ids": {"slug": "demo"},
    "joined_at": "2016-03-12T18:20:00.000Z",
    "location": "Lisbon",
    "about": "Films on Fridays, far too many series the rest of the week.",
    "images": {"avatar": {"full": "/static/demo/avatar.svg"}},
}

STATS = {
    "movies": {"plays": 612, "watched": 548, "minutes": 65880, "collected": 201, "ratings": 433},
    "shows": {"watched": 143, "collected": 12, "ratings": 97},
    "seasons": {"ratings": 18},
    "episodes": {"plays": 8120, "watched": 7954, "minutes": 362500, "ratings": 310},
    "network": {"friends": 20, "followers": 87, "following": 64},
    "ratings": {"total": 858, "distribution": {"7": 200, "8": 320, "9": 210, "10": 128}},
}


def _image(path: str, width: int = 1920) -> dict:
    return {
        "file_path": path,
        "width": width,
        "height": width * 9 // 16,
        "iso_639_1": None,
        "vote_average": 6.0,
        "vote_count": 10,
    }


IMAGES = {
    "/movie/900001/images": {
        "backdrops": [_image("/quiet-orbit-backdrop.svg")],
        "posters": [_image("/quiet-orbit-poster.svg", 1000)],
    },
    "/tv/900002/images": {
        "backdrops": [_image("/saltmarsh-backdrop.svg")],
        "posters": [_image("/saltmarsh-poster.svg", 1000)],
    },
    "/tv/900002/season/2/episode/5/images": {"stills": [_image("/saltmarsh-s2e5-still.svg")]},
}

_USER_PATH = re.compile(
    r"/users/[^/]+(?P<rest>/watching|/stats|/history|/ratings/(?:movies|shows|episodes))?"
)
# An image address below TMDB_IMAGE_URL: /{size}/{file name}, like /w300/x.svg.
_IMAGE_PATH = re.compile(r"/(?P<size>w\d+|original)/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


def reply(service: str, method: str, path: str, params: dict, json_body=None) -> Reply:
    """What Trakt or TMDB would answer `method path`; nothing here is ever sent out."""
    if service == "tmdb":
        if image := _IMAGE_PATH.fullmatch(path):
            return _image_file(image["size"], image["name"])
        body = IMAGES.get(path) or catalogue_images(path)
        return _json(body) if body is not None else Reply(404, {}, b"")
    match = _USER_PATH.fullmatch(path)
    if match is None:
        return Reply(404, {}, b"")
    rest = match["rest"]
    if rest == "/watching":
        playing = _playing_now(time.time())
        return _json(playing) if playing else Reply(204)
    if rest == "/stats":
        return _json(history_stats(time.time()))
    if rest == "/history":
        return history_page(time.time(), params)
    if rest and rest.startswith("/ratings/"):
        return _paged(ratings(rest.rsplit("/", 1)[1]), params)
    return _json(PROFILE)


def _image_file(size: str, name: str) -> Reply:
    """Our own demo artwork from static/demo, as TMDB's image host would send it."""
    file = settings.BASE_DIR / "static" / "demo" / size / name
    content_type = mimetypes.guess_type(name)[0]
    if not file.is_file() or content_type is None:
        return Reply(404, {}, b"")
    return Reply(200, {"Content-Type": content_type}, file.read_bytes())


def _json(body) -> Reply:
    return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _timeline_start() -> float:
    """When the current run's timeline began; shared by workers that share a cache."""
    cache.add(EPOCH_KEY, time.time() - STARTED_MINUTES_AGO * MINUTE, timeout=None)
    return cache.get(EPOCH_KEY) or time.time() - STARTED_MINUTES_AGO * MINUTE


def _slots(now: float):
    """The slots of the turn around `now`, each with its start and end times."""
    turn = sum(slot.minutes for slot in TIMELINE) * MINUTE
    start = _timeline_start()
    turn_start = start + (now - start) // turn * turn
    for offset in (-turn, 0):
        at = turn_start + offset
        for slot in TIMELINE:
            yield slot, at, at + slot.minutes * MINUTE
            at += slot.minutes * MINUTE


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _media(kind: str) -> dict:
    if kind == "movie":
        return {"type": "movie", "movie": MOVIE}
    return {"type": "episode", "episode": EPISODE, "show": SHOW}


def _playing_now(now: float) -> dict | None:
    for slot, start, end in _slots(now):
        if start <= now < end and slot.kind != "idle":
            return {
                "started_at": _iso(start),
                "expires_at": _iso(end),
                "action": "scrobble",
                **_media(slot.kind),
            }
    return None


# --- The history: three years, generated day by day -----------------------------------------------
#
# A catalogue of made-up titles; each day's plays come from a random generator seeded with the
# day, so a day always has the same plays (and history ids) whenever it is asked for. The history
# ends where the timeline begins; the timeline's films and episodes join it as they end (those
# of the last day: a demo left running does not rewatch one film a hundred times).

HISTORY_DAYS = 3 * 365
TIMELINE_KEPT = 24 * 60 * MINUTE
POSTERS = 12  # static/demo/w154 and w342: demo-poster-1.svg ... demo-poster-12.svg


@dataclass(frozen=True)
class DemoTitle:
    trakt: int
    title: str
    year: int
    runtime: int
    genres: tuple[str, ...]
    rating: float  # the community's
    votes: int
    seasons: tuple[int, ...] = ()  # shows: episodes per season
    tmdb: bool = True
    mine: int | None = None  # the owner's rating, if any

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") + f"-{self.year}"

    @property
    def poster(self) -> str:
        return f"/demo-poster-{self.trakt % POSTERS + 1}.svg"

    def body(self, kind: str) -> dict:
        if self.trakt == MOVIE["ids"]["trakt"]:
            base = dict(MOVIE)
        elif self.trakt == SHOW["ids"]["trakt"]:
            base = dict(SHOW)
        else:
            ids = {"trakt": self.trakt, "slug": self.slug, "imdb": None}
            ids["tmdb"] = self.trakt if self.tmdb else None
            if kind == "show":
                ids["tvdb"] = None
            base = {"title": self.title, "year": self.year, "ids": ids}
        return base | {
            "runtime": self.runtime,
            "genres": list(self.genres),
            "rating": self.rating,
            "votes": self.votes,
            "overview": OVERVIEWS.get(self.title) or self.blurb(kind),
        }

    def blurb(self, kind: str) -> str:
        """An overview for a title without one written: what kind of story, and when."""
        genres = " and ".join(g.replace("-", " ") for g in self.genres)
        what = "film" if kind == "movie" else f"series in {len(self.seasons)} seasons"
        return f"A made-up {genres} {what} from {self.year}, for the demo of this site."


# The demo's titles its pages draw first, with an overview of their own.
OVERVIEWS = {
    "The Quiet Orbit": "A station keeper at the edge of the solar system counts the days until "
    "the supply ship, and starts to hear the station answer back.",
    "Saltmarsh": "A tidal village, a drowned ferry and the families who never stopped "
    "arguing about what happened that night.",
    "The Cartographer's Daughter": "A young mapmaker follows her father's last chart down a "
    "coast that should not exist.",
    "Quiet Machines": "A small maintenance robot keeps an empty city running, one streetlight "
    "at a time.",
}


def _movie(trakt, title, year, runtime, genres, rating, votes, mine=None) -> DemoTitle:
    return DemoTitle(trakt, title, year, runtime, tuple(genres.split()), rating, votes, mine=mine)


def _show(trakt, title, year, runtime, genres, rating, votes, seasons, mine=None, tmdb=True):
    return DemoTitle(
        trakt, title, year, runtime, tuple(genres.split()), rating, votes, seasons, tmdb, mine
    )


MOVIES = [
    _movie(900001, "The Quiet Orbit", 2024, 118, "science-fiction drama", 7.6, 2140, 9),
    _movie(910001, "Paper Lanterns", 2019, 104, "drama romance", 7.1, 820, 8),
    _movie(910002, "The Last Ferry to Ilha", 2021, 97, "drama", 7.4, 640, 8),
    _movie(910003, "Copper Sky", 2017, 126, "western adventure", 6.8, 1530, 7),
    _movie(910004, "Nine Small Rooms", 2022, 99, "thriller mystery", 7.0, 2210, 8),
    _movie(910005, "Glass Harbour", 2018, 112, "crime drama", 7.3, 990, 7),
    _movie(910006, "The Cartographer's Daughter", 2016, 131, "adventure fantasy", 7.8, 3300, 10),
    _movie(910007, "Low Tide", 2023, 94, "horror thriller", 5.9, 1270, 4),
    _movie(910008, "A Year of Sundays", 2020, 101, "comedy drama", 7.2, 760, 8),
    _movie(910009, "Static Bloom", 2024, 109, "science-fiction thriller", 6.6, 1810, 7),
    _movie(910010, "The Orchard Keeper's Song", 2015, 121, "drama", 8.1, 2950, 9),
    _movie(910011, "Night Shift at the Planetarium", 2022, 96, "comedy romance", 6.9, 540, 9),
    _movie(910012, "Iron & Lace", 2014, 138, "action history", 6.4, 4100, 5),
    _movie(910013, "Slow Rivers", 2021, 88, "documentary", 7.7, 310, 8),
    _movie(910014, "The Lighthouse Accords", 2019, 117, "thriller war", 7.0, 1650),
    _movie(910015, "Marmalade Summer", 2023, 92, "comedy family", 6.2, 480, 9),
    _movie(910016, "Beneath the Salt", 2020, 79, "documentary", 7.9, 290, 8),
    _movie(910017, "Echo Valley Radio", 2018, 103, "comedy music", 6.7, 870),
    _movie(910018, "Ten Thousand Steps", 2016, 115, "drama sport", 7.1, 1120, 6),
    _movie(910019, "The Fourth Moon", 2025, 142, "science-fiction adventure", 7.5, 5200, 8),
    _movie(910020, "Winter Garden", 2013, 108, "romance drama", 6.8, 1930),
    _movie(910021, "Signal Lost", 2021, 100, "thriller science-fiction", 6.1, 2480, 7),
    _movie(910022, "Little Volcano", 2024, 86, "animation family", 7.4, 960, 8),
    _movie(910023, "The Archivist", 2017, 123, "mystery crime", 7.6, 3010, 9),
    _movie(910024, "Blue Hour Boulevard", 2022, 111, "crime thriller", 6.9, 1400),
    _movie(910025, "Saints of the Alley", 2019, 98, "comedy crime", 6.5, 1080, 7),
    _movie(910026, "A Map of Small Fires", 2023, 119, "drama", 7.8, 700, 9),
    _movie(910027, "Northern Lights, Southern Hearts", 2015, 105, "romance comedy", 5.8, 2200, 3),
    _movie(910028, "The Clockmaker's Wager", 2020, 127, "fantasy mystery", 7.3, 2650, 8),
    _movie(910029, "Dust & Honey", 2018, 114, "western drama", 7.0, 590),
    _movie(910030, "Café Lumière à Nîmes", 2018, 101, "drama romance", 7.2, 430, 8),
    _movie(910031, "The Great Indoors", 2021, 89, "comedy", 5.4, 1890, 8),
    _movie(910032, "Undertow", 2017, 97, "horror", 6.0, 1330, 5),
    _movie(910033, "Emberfall", 2025, 136, "fantasy action", 6.7, 4800, 7),
    _movie(910034, "The Long Way Round", 2014, 95, "adventure documentary", 7.5, 380),
    _movie(910035, "Quiet Machines", 2022, 93, "animation science-fiction", 8.0, 1720, 10),
]
SHOWS = [
    _show(900002, "Saltmarsh", 2022, 52, "drama mystery", 8.2, 5400, (8, 8, 8), 9),
    _show(920001, "The Night Desk", 2019, 45, "crime drama", 7.9, 8100, (10, 10, 10, 10), 8),
    _show(920002, "Harbour Lights", 2020, 24, "comedy", 7.5, 3900, (12, 12, 12), 9),
    _show(920003, "Frontier Station", 2021, 55, "science-fiction drama", 7.7, 6100, (10, 10), 8),
    _show(920004, "Kitchen Republic", 2018, 42, "reality", 6.9, 1200, (8, 8, 8, 8, 8)),
    _show(920005, "The Understudies", 2023, 30, "comedy drama", 7.8, 2100, (8, 8), 9),
    _show(920006, "Wildwood", 2017, 58, "fantasy adventure", 7.4, 7300, (10, 10, 10), 6),
    _show(920007, "Cold Case Almanac", 2016, 44, "documentary crime", 7.6, 900, (6, 6, 6, 6)),
    _show(920008, "Brass & Steam", 2022, 23, "animation adventure", 8.0, 1500, (12, 12), 9),
    _show(920009, "Parallel Lines", 2024, 48, "thriller science-fiction", 7.1, 2600, (8,)),
    _show(920010, "Village Weekly", 2015, 22, "comedy", 6.8, 3300, (10,) * 6, 7),
    _show(920011, "Moss Hollow", 2021, 50, "mystery horror", 7.0, 640, (8, 8), 6, tmdb=False),
]
_BY_TRAKT = {t.trakt: t for t in (*MOVIES, *SHOWS)}
# Favourites come back: rewatched now and then.
FAVOURITES = [
    t
    for t in MOVIES
    if t.title
    in (
        "The Cartographer's Daughter",
        "The Orchard Keeper's Song",
        "Quiet Machines",
        "The Quiet Orbit",
    )
]


def _episode(show: DemoTitle, index: int) -> dict:
    """The show's `index`th episode (0-based, wrapping round to a rewatch)."""
    if show.trakt == SHOW["ids"]["trakt"] and index == 12:
        # S2E5 "The Night Ferry", the timeline's episode.
        return dict(EPISODE) | {"runtime": 52, "rating": 8.6, "votes": show.votes // 20}
    index %= sum(show.seasons)
    season = 1
    for count in show.seasons:
        if index < count:
            break
        index -= count
        season += 1
    number = index + 1
    return {
        "season": season,
        "number": number,
        "title": f"Chapter {number}" if number != 1 else "Pilot" if season == 1 else "Return",
        "ids": {"trakt": show.trakt * 1000 + season * 100 + number, "tvdb": None, "imdb": None,
                "tmdb": None},
        "runtime": show.runtime + (number % 3) * 2 - 2,
        "rating": round(min(9.6, show.rating + (number % 5 - 2) / 10), 2),
        "votes": show.votes // 20,
    }  # fmt: skip


def day_plays(day: date) -> list[tuple[float, dict]]:
    """One day's plays as (end time, media fields): evenings on weekdays, afternoons too at
    weekends, now a film, now a run of episodes of the show of the moment."""
    rng = random.Random(day.toordinal())
    weekend = day.weekday() >= 5
    if rng.random() < (0.1 if weekend else 0.27):
        return []
    plays: list[tuple[float, dict]] = []
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    # The show of the moment changes every three weeks; another one on the side.
    span = day.toordinal() // 21
    current = SHOWS[span % len(SHOWS)]
    side = SHOWS[(span * 7 + 3) % len(SHOWS)]
    sessions = 2 if weekend and rng.random() < 0.6 else 1
    for session in range(sessions):
        at = (
            midnight
            + (rng.randint(14, 17) if session == 0 and sessions == 2 else rng.randint(19, 22))
            * 3600
        )
        at += rng.randint(0, 50) * MINUTE
        if rng.random() < (0.45 if weekend else 0.25):
            film = rng.choice(FAVOURITES) if rng.random() < 0.15 else rng.choice(MOVIES)
            at += film.runtime * MINUTE
            plays.append((at, {"type": "movie", "movie": film.body("movie")}))
            continue
        show = current if rng.random() < 0.75 else side
        run = rng.choice((1, 1, 2, 2, 3, 4) if not weekend else (2, 3, 4, 5, 6))
        first = (day.toordinal() - span * 21) * 2 + session * 3
        for n in range(run):
            episode = _episode(show, first + n)
            at += episode["runtime"] * MINUTE + rng.randint(0, 6) * MINUTE
            plays.append((at, {"type": "episode", "show": show.body("show"), "episode": episode}))
    return plays


def _generated(until: float) -> list[dict]:
    """Every generated play before `until`, newest first (computed once per epoch)."""
    key = int(until)
    if _generated_cache.get("key") != key:
        end = datetime.fromtimestamp(until, UTC).date()
        items = []
        for offset in range(HISTORY_DAYS, -1, -1):
            day = end - timedelta(days=offset)
            for n, (at, media) in enumerate(day_plays(day)):
                if at < until:
                    items.append({"id": day.toordinal() * 100 + n, "watched_at": _iso(at),
                                  "action": "scrobble", **media})  # fmt: skip
        items.reverse()
        _generated_cache.clear()
        _generated_cache.update(key=key, items=items)
    return _generated_cache["items"]


_generated_cache: dict = {}


def _timeline_plays(now: float) -> list[dict]:
    """The timeline's films and episodes that ended in the last day, newest first."""
    start = _timeline_start()
    turn = sum(slot.minutes for slot in TIMELINE) * MINUTE
    # From the turn before the kept day begins, however long the demo has been running.
    at = start + max(0, (now - TIMELINE_KEPT - start) // turn - 1) * turn
    plays = []
    while at < now:
        for slot in TIMELINE:
            end = at + slot.minutes * MINUTE
            if slot.kind != "idle" and now - TIMELINE_KEPT <= end <= now:
                plays.append(
                    {"id": int(end), "watched_at": _iso(end), "action": "scrobble"}
                    | _timeline_media(slot.kind)
                )
            at = end
    return plays[::-1]


def _timeline_media(kind: str) -> dict:
    if kind == "movie":
        return {"type": "movie", "movie": _BY_TRAKT[MOVIE["ids"]["trakt"]].body("movie")}
    show = _BY_TRAKT[SHOW["ids"]["trakt"]]
    return {"type": "episode", "show": show.body("show"), "episode": _episode(show, 12)}


def history(now: float) -> list[dict]:
    """The whole demo history at `now`, newest first."""
    return _timeline_plays(now) + _generated(_timeline_start())


def history_page(now: float, params: dict) -> Reply:
    items = history(now)
    start, end = params.get("start_at"), params.get("end_at")
    if start or end:
        items = [
            item
            for item in items
            if (not start or item["watched_at"] >= start) and (not end or item["watched_at"] <= end)
        ]
    return _paged(items, params)


def _paged(items: list, params: dict) -> Reply:
    """A page of `items` with Trakt's X-Pagination-* headers (limit capped at 250)."""
    page = max(1, int(params.get("page") or 1))
    limit = min(250, max(1, int(params.get("limit") or 10)))
    chosen = items[(page - 1) * limit : page * limit]
    headers = {
        "Content-Type": "application/json",
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(-(-len(items) // limit)),
        "X-Pagination-Item-Count": str(len(items)),
    }
    return Reply(200, headers, json.dumps(chosen).encode())


def ratings(kind: str) -> list[dict]:
    rated_at = "2025-01-01T12:00:00.000Z"
    if kind == "movies":
        return [
            {"rated_at": rated_at, "rating": t.mine, "type": "movie", "movie": t.body("movie")}
            for t in MOVIES
            if t.mine
        ]
    if kind == "shows":
        return [
            {"rated_at": rated_at, "rating": t.mine, "type": "show", "show": t.body("show")}
            for t in SHOWS
            if t.mine
        ]
    return []


def history_stats(now: float) -> dict:
    """/users/demo/stats, counted from the demo history (network and collection made up)."""
    items = history(now)
    movies = [item for item in items if item["type"] == "movie"]
    episodes = [item for item in items if item["type"] == "episode"]
    given = [r["rating"] for kind in ("movies", "shows") for r in ratings(kind)]
    return {
        "movies": {
            "plays": len(movies),
            "watched": len({item["movie"]["ids"]["trakt"] for item in movies}),
            "minutes": sum(item["movie"]["runtime"] for item in movies),
            "collected": STATS["movies"]["collected"],
            "ratings": len(ratings("movies")),
        },
        "shows": {
            "watched": len({item["show"]["ids"]["trakt"] for item in episodes}),
            "collected": STATS["shows"]["collected"],
            "ratings": len(ratings("shows")),
        },
        "seasons": {"ratings": 0},
        "episodes": {
            "plays": len(episodes),
            "watched": len({item["episode"]["ids"]["trakt"] for item in episodes}),
            "minutes": sum(item["episode"]["runtime"] for item in episodes),
            "ratings": 0,
        },
        "network": STATS["network"],
        "ratings": {
            "total": len(given),
            "distribution": {str(n): given.count(n) for n in range(1, 11) if given.count(n)},
        },
    }


def catalogue_images(path: str) -> dict | None:
    """TMDB's images of a catalogue title: one of our posters."""
    match = re.fullmatch(r"/(movie|tv)/(\d+)/images", path)
    title = _BY_TRAKT.get(int(match[2])) if match else None
    if title is None or not title.tmdb:
        return None
    return {"backdrops": [], "posters": [_image(title.poster, 1000)]}
