"""The public JSON of every answer: the contract that API_DOCUMENTATION.md and
profile/openapi.json promise. It only ever grows: a field is added, never renamed or dropped.

Each function turns one typed value into its JSON. The pages never read these (they render
the typed values), so the HTML and the public contract cannot tie each other down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from profile.client import TraktProfile, TraktStats
from profile.live.answers import WatchingAnswer
from profile.live.watching import NowWatching, Progress
from profile.mirror.detail import TitleDetail
from profile.mirror.diary import Entry
from profile.mirror.library import CommentItem, ListSummary
from profile.mirror.library import Entry as Shelved
from profile.mirror.queries import TitleCount
from profile.mirror.review import Binge, YearReview
from profile.mirror.search import Hit
from profile.mirror.titles import EpisodeInfo, PlayItem, TitleInfo
from profile.ops.health import Liveness

# --- /api/watching ------------------------------------------------------------------------------


def watching_json(answer: WatchingAnswer, now: datetime) -> dict[str, Any]:
    """/api/watching's body: the seed's contract (isWatching, content), extended."""
    body: dict[str, Any] = {"isWatching": answer.watching is not None}
    if answer.watching is not None:
        body["content"] = content_json(answer.watching, now)
    if answer.error is not None:
        body["error"] = answer.error.as_json()
    if answer.stale:
        body["stale"] = True
    if settings.DEMO_MODE:
        body["demo"] = True
    return body


def content_json(watching: NowWatching, now: datetime) -> dict[str, Any]:
    content: dict[str, Any] = {"type": watching.type, "title": watching.title}
    if watching.subtitle is not None:
        content["subtitle"] = watching.subtitle
    ids, links = watching.ids, watching.links
    content |= {
        "year": watching.year,
        "progress": progress_json(watching.progress, now),
        "images": dict(watching.images),
        "ids": {"trakt": ids.trakt, "tmdb": ids.tmdb, "imdb": ids.imdb},
        "action": watching.action,
        "links": {"trakt": links.trakt, "imdb": links.imdb, "tmdb": links.tmdb},
        "state": watching.state(now),
        "source": watching.source,
    }
    if watching.episode is not None:
        content["episode"] = {
            "season": watching.episode.season,
            "number": watching.episode.number,
            "title": watching.episode.title,
            "ids": dict(watching.episode.ids),
        }
    return content


def progress_json(progress: Progress, now: datetime) -> dict[str, Any]:
    body = {
        "started_at": progress.started_at,
        "expires_at": progress.expires_at,
        "percentage": progress.percentage(now),
        "remaining_seconds": progress.remaining_seconds(now),
        "duration_seconds": progress.duration_seconds,
    }
    if progress.paused_at is not None:
        body["paused_at"] = progress.paused_at
    return body


# --- /api/profile, /api/stats -------------------------------------------------------------------


def profile_json(profile: TraktProfile) -> dict:
    slug = profile.ids.slug
    return {
        "username": profile.username,
        "slug": slug,
        "name": profile.name or None,
        "private": profile.private,
        "vip": bool(profile.vip),
        "vip_ep": bool(profile.vip_ep),
        "avatar": profile.avatar_url,
        "location": profile.location or None,
        "about": profile.about or None,
        "joined_at": profile.joined_at,
        "links": {"trakt": profile.trakt_url},
    }


COUNTS = ("plays", "watched", "minutes", "collected", "ratings", "comments")
RATINGS = [str(rating) for rating in range(1, 11)]


def stats_json(stats: TraktStats) -> dict:
    body = {
        kind: {name: getattr(getattr(stats, kind), name) for name in COUNTS}
        for kind in ("movies", "shows", "seasons", "episodes")
    }
    body["network"] = stats.network.model_dump()
    # Every rating from 1 to 10 is present, so a client can draw the bars without guessing.
    distribution = stats.ratings.distribution
    body["ratings"] = {
        "total": stats.ratings.total,
        "distribution": {rating: distribution.get(rating, 0) for rating in RATINGS},
    }
    body["totals"] = {
        "plays": stats.movies.plays + stats.episodes.plays,
        "minutes": stats.movies.minutes + stats.episodes.minutes,
    }
    return body


# --- The history mirror ---------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """Trakt's way of writing a moment: UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def ids_json(title: TitleInfo) -> dict[str, Any]:
    return {"trakt": title.trakt_id, "tmdb": title.tmdb_id, "imdb": title.imdb_id or None}


def play_json(item: PlayItem) -> dict[str, Any]:
    """One play of /api/history (and a year's first and last)."""
    body: dict[str, Any] = {
        "id": item.history_id,
        "watched_at": iso(item.watched_at),
        "action": item.action,
        "type": item.kind,
        "title": item.title.title,
    }
    if item.episode is not None:
        body["subtitle"] = item.episode.subtitle
    body |= {
        "year": item.title.year,
        "runtime": item.runtime,
        "ids": ids_json(item.title),
        "links": item.title.links(item.episode),
        "poster": item.title.poster,
        "url": item.title.url,
    }
    if item.episode is not None:
        body["episode"] = episode_json(item.episode)
    return body


def episode_json(e: EpisodeInfo) -> dict[str, Any]:
    return {
        "season": e.season,
        "number": e.number,
        "title": e.title or None,
        "ids": {
            "trakt": e.trakt_id,
            "tvdb": e.tvdb_id,
            "imdb": e.imdb_id or None,
            "tmdb": e.tmdb_id,
        },
    }


def diary_json(entry: Entry) -> dict[str, Any]:
    """One play of /api/history: play_json(), with the owner's ratings and whether it was
    a rewatch."""
    return play_json(entry.item) | {
        "rating": entry.rating,
        "episode_rating": entry.episode_rating,
        "rewatch": entry.rewatch,
    }


def title_json(title: TitleInfo) -> dict:
    return {
        "type": title.kind,
        "title": title.title,
        "year": title.year,
        "ids": ids_json(title),
        "links": title.links(),
        "poster": title.poster,
        "url": title.url,
    }


def _title_figure(entry: TitleCount) -> dict:
    return title_json(entry.title) | {"plays": entry.plays, "minutes": entry.minutes}


def binge_json(binge: Binge) -> dict:
    return {
        "show": title_json(binge.title),
        "episodes": binge.episodes,
        "minutes": binge.minutes,
        "started_at": iso(binge.started),
        "ended_at": iso(binge.ended),
    }


def year_json(review: YearReview, time_zone: str) -> dict:
    totals = review.totals
    binge = review.binge
    return {
        "year": review.year,
        "time_zone": time_zone,
        "plays": totals.plays,
        "minutes": totals.minutes,
        "days_active": totals.days,
        "titles": totals.titles,
        "movies": {"plays": totals.movie_plays, "minutes": totals.movie_minutes},
        "episodes": {"plays": totals.episode_plays, "minutes": totals.episode_minutes},
        "months": [
            {
                "month": m.month,
                "plays": m.plays,
                "minutes": m.minutes,
                "movie_minutes": m.movie_minutes,
                "episode_minutes": m.episode_minutes,
            }
            for m in review.months
        ],
        "genres": [
            {"slug": g.slug, "name": g.name, "plays": g.plays, "minutes": g.minutes}
            for g in review.genres
        ],
        "top_shows": [_title_figure(entry) for entry in review.shows],
        "top_movies": [_title_figure(entry) for entry in review.movies],
        "longest_binge": None if binge is None else binge_json(binge),
        "first": play_json(review.first),
        "last": play_json(review.last),
    }


# --- The library, the titles, search --------------------------------------------------------------


def _moment(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def entry_json(entry: Shelved) -> dict[str, Any]:
    """A favourite, a watchlist item or a list's item: its title (the show of a season or an
    episode), what was listed, and how."""
    body = title_json(entry.title) | {
        "item_type": entry.kind,
        "rank": entry.rank,
        "listed_at": _moment(entry.listed_at),
        "notes": entry.notes or None,
        "plays": entry.plays,
    }
    if entry.season is not None:
        body["season"] = entry.season
    if entry.episode is not None:
        body["episode"] = episode_json(entry.episode)
    return body


def _list_ref(slug: str, name: str) -> dict[str, str]:
    return {"slug": slug, "name": name, "url": reverse("list", args=[slug])}


def list_json(summary: ListSummary) -> dict[str, Any]:
    return _list_ref(summary.slug, summary.name) | {
        "description": summary.description or None,
        "items": summary.items,
        "likes": summary.likes,
        "updated_at": _moment(summary.updated_at),
        "posters": [title.poster for title in summary.posters if title.poster],
    }


def comment_json(comment: CommentItem) -> dict[str, Any]:
    return {
        "id": comment.trakt_id,
        "review": comment.review,
        "spoiler": comment.spoiler,
        "text": comment.text,
        "rating": comment.rating,
        "likes": comment.likes,
        "created_at": iso(comment.created_at),
        "item_type": comment.kind,
        "about": comment.about or None,
    }


def detail_json(d: TitleDetail) -> dict[str, Any]:
    """/api/titles/{movies,shows}/{slug}: the title, the owner's rating, plays, comments,
    lists, watchlist; a show's seasons and longest binge."""
    title = title_json(d.title) | {
        "overview": d.overview or None,
        "runtime": d.runtime,
        "genres": [{"slug": slug, "name": name} for slug, name in d.genres],
        "community_rating": d.community_rating,
        "community_votes": d.community_votes,
        "backdrop": d.backdrop,
    }
    body: dict[str, Any] = {
        "title": title,
        "rating": None if d.rating is None else {"value": d.rating, "rated_at": iso(d.rated_at)},
        "plays": {
            "count": d.plays,
            "minutes": d.minutes,
            "first_at": _moment(d.first),
            "last_at": _moment(d.last),
            "latest": [diary_json(entry) for entry in d.latest],
        },
        "comments": [comment_json(comment) for comment in d.comments],
        "lists": [_list_ref(slug, name) for slug, name in d.lists],
        "on_watchlist": d.on_watchlist,
        "watchlisted_at": _moment(d.watchlisted),
        "favorite": d.favorite,
    }
    if d.title.kind == "show":
        body["plays"]["episodes_watched"] = d.episodes_watched
        body["seasons"] = [
            {
                "number": season.number,
                "episodes": [
                    {
                        "number": cell.number,
                        "title": cell.title or None,
                        "plays": cell.plays,
                        "rating": cell.rating,
                    }
                    for cell in season.cells
                ],
            }
            for season in d.seasons
        ]
        body["longest_binge"] = None if d.binge is None else binge_json(d.binge)
    return body


def hit_json(hit: Hit) -> dict[str, Any]:
    return title_json(hit.title) | {
        "plays": hit.plays,
        "exact": hit.exact,
        "favorite": hit.favorite,
        "on_watchlist": hit.watchlist,
        "lists": [_list_ref(slug, name) for slug, name in hit.lists],
    }


# --- Health ---------------------------------------------------------------------------------------


def liveness_json(liveness: Liveness) -> dict[str, Any]:
    """/healthz's "database" and "history" (beside "status" and "cache")."""
    job = liveness.history
    history = job and {
        "sync_minutes": job.sync_minutes,
        "state": job.state,
        "running": job.running,
        "last_run_at": job.last_run_at and iso(job.last_run_at),
        "last_success_at": job.last_success_at and iso(job.last_success_at),
    }
    return {"database": "ok" if liveness.database else "degraded", "history": history}
