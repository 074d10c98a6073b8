"""Writing what Trakt answered into the mirror: plays, titles, episodes, genres and ratings,
upserted page by page, and the owner's library (favourites, watchlist, lists and their items,
comments). A Writer remembers the rows it wrote (their ids), so titles and episodes seen on
many pages are written once per run; it needs nothing else but the zone of the plays' local
buckets.

A partial writer (Trakt's data export, whose answers lack extended=full) writes a title's
identity but never writes over what the site knows of it with nothing: runtimes, genres,
overviews and the community's rating stay as the sync or TMDB left them (`mirror/details.py`
fills them).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from profile.client.library import ListedItem, Media, TraktList, UserComment
from profile.client.schemas import Episode as EpisodeBody
from profile.client.schemas import HistoryPlay, Movie, RatedItem, parse_time
from profile.models import (
    Comment,
    Episode,
    Favorite,
    Genre,
    ListItem,
    Play,
    Rating,
    Title,
    UserList,
    WatchlistItem,
    search_fields,
)

LISTED_FIELDS = ["title", "episode", "season", "rank", "listed_at", "notes", "seen"]

# What extended=full adds to a title or an episode: a partial writer leaves these alone.
DETAILS = ("runtime", "community_rating", "community_votes")
FULL_ONLY = (*DETAILS, "overview")


class Writer:
    def __init__(self, zone: zoneinfo.ZoneInfo, *, partial: bool = False):
        self.zone = zone
        self.partial = partial
        # Rows already written by this run: (kind, trakt id) -> pk. Bounded by the number of
        # titles and episodes, not plays.
        self.titles: dict[tuple[str, int], int] = {}
        self.episodes: dict[int, int] = {}
        self.genres: dict[str, int] = {}
        # A partial writer's runtimes as the database knows them: title or episode pk -> minutes.
        self.title_runtimes: dict[int, int | None] = {}
        self.episode_runtimes: dict[int, int | None] = {}

    def store_plays(self, items: list[HistoryPlay], generation: int) -> int:
        """Upserts a page of plays (and their titles and episodes); how many were new."""
        unique: dict[int, HistoryPlay] = {}
        for item in items:
            unique.setdefault(item.id, item)
        if not unique:
            return 0
        movies = {i.movie.ids.trakt: i.movie for i in unique.values() if i.type == "movie"}
        shows = {i.show.ids.trakt: i.show for i in unique.values() if i.type == "episode"}
        self.upsert_titles(Title.MOVIE, movies)
        self.upsert_titles(Title.SHOW, shows)
        self.upsert_episodes(
            {i.episode.ids.trakt: (i.show, i.episode) for i in unique.values() if i.episode}
        )
        # What each play kept so far says of its run: its time and length.
        existing = {
            history_id: (minute, runtime)
            for history_id, minute, runtime in Play.objects.filter(
                history_id__in=unique
            ).values_list("history_id", "epoch_minute", "runtime")
        }
        plays = [self.play(item, generation) for item in unique.values()]
        fields = [
            "watched_at",
            "action",
            "kind",
            "title",
            "episode",
            "runtime",
            "local_date",
            "local_hour",
            "local_weekday",
            "epoch_minute",
            "seen",
        ]
        Play.objects.bulk_create(
            plays,
            update_conflicts=True,
            unique_fields=["history_id"],
            # A play the sync wrote keeps the runtime it had from Trakt's full answer.
            update_fields=[f for f in fields if not (self.partial and f == "runtime")],
        )
        # A play seen again keeps its run (a --full walk sees every play again); one whose time
        # or length changed on Trakt has its show's runs worked out again (refresh_runs).
        moved = [
            play.history_id
            for play in plays
            if play.history_id in existing
            and existing[play.history_id] != (play.epoch_minute, play.runtime)
        ]
        if moved:
            Play.objects.filter(history_id__in=moved).update(run_start=None)
        return len(unique) - len(existing)

    def play(self, item: HistoryPlay, generation: int) -> Play:
        watched = datetime.fromisoformat(item.watched_at)
        if item.type == "movie":
            title = self.titles[(Title.MOVIE, item.movie.ids.trakt)]
            episode = None
            runtime = item.movie.runtime or self.title_runtimes.get(title) or 0
        else:
            title = self.titles[(Title.SHOW, item.show.ids.trakt)]
            episode = self.episodes[item.episode.ids.trakt]
            runtime = (
                item.episode.runtime
                or item.show.runtime
                or self.episode_runtimes.get(episode)
                or self.title_runtimes.get(title)
                or 0
            )
        play = Play(
            history_id=item.id,
            watched_at=watched,
            action=item.action,
            kind=item.type,
            title_id=title,
            episode_id=episode,
            runtime=runtime,
            seen=generation,
        )
        localize(play, self.zone)
        return play

    def upsert_titles(self, kind: str, bodies: dict[int, Movie]) -> None:
        fresh = {
            trakt_id: body
            for trakt_id, body in bodies.items()
            if (kind, trakt_id) not in self.titles
        }
        if not fresh:
            return
        rows = [
            Title(
                kind=kind,
                trakt_id=trakt_id,
                slug=body.ids.slug or "",
                tmdb_id=body.ids.tmdb,
                imdb_id=body.ids.imdb or "",
                tvdb_id=body.ids.tvdb,
                title=body.title or "",
                year=body.year,
                runtime=body.runtime,
                community_rating=body.rating,
                community_votes=body.votes,
                overview=body.overview or "",
            )
            for trakt_id, body in fresh.items()
        ]
        for row in rows:  # what Title.save() would set (bulk_create does not call it)
            row.search_key, row.search_text = search_fields(row.title, row.year)
        fields = ["slug", "tmdb_id", "imdb_id", "tvdb_id", "title", "year", *DETAILS, "overview"]
        fields += ["search_key", "search_text"]
        Title.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kind", "trakt_id"],
            update_fields=self._written(fields),
        )
        for row in rows:
            self.titles[(kind, row.trakt_id)] = row.pk
        if self.partial:
            pks = [row.pk for row in rows]
            known = Title.objects.filter(pk__in=pks).values_list("pk", "runtime")
            self.title_runtimes |= dict(known)
        else:
            self.set_genres({row.pk: fresh[row.trakt_id].genres for row in rows})

    def set_genres(self, wanted: dict[int, Iterable[str]]) -> None:
        slugs = {slug for genres in wanted.values() for slug in genres} - set(self.genres)
        if slugs:
            Genre.objects.bulk_create([Genre(slug=s) for s in slugs], ignore_conflicts=True)
            self.genres |= dict(Genre.objects.filter(slug__in=slugs).values_list("slug", "pk"))
        through = Title.genres.through
        have: dict[int, set[int]] = {pk: set() for pk in wanted}
        for title_id, genre_id in through.objects.filter(title_id__in=wanted).values_list(
            "title_id", "genre_id"
        ):
            have[title_id].add(genre_id)
        add, drop = [], Q(pk__in=[])
        for title_id, genres in wanted.items():
            want = {self.genres[slug] for slug in genres}
            add += [through(title_id=title_id, genre_id=g) for g in want - have[title_id]]
            if extra := have[title_id] - want:
                drop |= Q(title_id=title_id, genre_id__in=extra)
        through.objects.bulk_create(add, ignore_conflicts=True)
        through.objects.filter(drop).delete()

    def upsert_episodes(self, bodies: dict[int, tuple[Movie, EpisodeBody]]) -> None:
        fresh = {k: v for k, v in bodies.items() if k not in self.episodes}
        if not fresh:
            return
        rows = [
            Episode(
                trakt_id=trakt_id,
                show_id=self.titles[(Title.SHOW, show.ids.trakt)],
                season=episode.season,
                number=episode.number,
                title=episode.title or "",
                runtime=episode.runtime,
                tmdb_id=episode.ids.tmdb,
                imdb_id=episode.ids.imdb or "",
                tvdb_id=episode.ids.tvdb,
                community_rating=episode.rating,
                community_votes=episode.votes,
            )
            for trakt_id, (show, episode) in fresh.items()
        ]
        fields = ["show", "season", "number", "title", "tmdb_id", "imdb_id", "tvdb_id", *DETAILS]
        Episode.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["trakt_id"],
            update_fields=self._written(fields),
        )
        for row in rows:
            self.episodes[row.trakt_id] = row.pk
        if self.partial:
            pks = [row.pk for row in rows]
            known = Episode.objects.filter(pk__in=pks).values_list("pk", "runtime")
            self.episode_runtimes |= dict(known)

    def _written(self, fields: list[str]) -> list[str]:
        """The fields an upsert writes over an existing row."""
        return [f for f in fields if not (self.partial and f in FULL_ONLY)]

    def store_ratings(self, items: list[RatedItem], generation: int) -> int:
        wanted = [item for item in items if item.type in ("movie", "show", "episode")]
        movies = {i.movie.ids.trakt: i.movie for i in wanted if i.type == "movie"}
        shows = {i.show.ids.trakt: i.show for i in wanted if i.type in ("show", "episode")}
        self.upsert_titles(Title.MOVIE, movies)
        self.upsert_titles(Title.SHOW, shows)
        self.upsert_episodes(
            {i.episode.ids.trakt: (i.show, i.episode) for i in wanted if i.episode}
        )
        rows: dict[tuple[str, int], Rating] = {}
        for item in wanted:
            if item.type == "movie":
                trakt_id, title = (
                    item.movie.ids.trakt,
                    self.titles[(Title.MOVIE, item.movie.ids.trakt)],
                )
                episode = None
            else:
                title = self.titles[(Title.SHOW, item.show.ids.trakt)]
                episode = self.episodes[item.episode.ids.trakt] if item.type == "episode" else None
                trakt_id = item.episode.ids.trakt if item.type == "episode" else item.show.ids.trakt
            rows.setdefault(
                (item.type, trakt_id),
                Rating(
                    kind=item.type,
                    trakt_id=trakt_id,
                    title_id=title,
                    episode_id=episode,
                    rating=item.rating,
                    rated_at=datetime.fromisoformat(item.rated_at),
                    seen=generation,
                ),
            )
        Rating.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["kind", "trakt_id"],
            update_fields=["title", "episode", "rating", "rated_at", "seen"],
        )
        return len(rows)

    # --- The library ------------------------------------------------------------------------

    def place(self, items: list[Media]) -> list[tuple[Media, dict]]:
        """Writes the titles and episodes of `items` and gives, for each item that is a
        movie, show, season or episode (people and lists are left out), the fields that
        point at them: kind, trakt_id, title, episode, season."""
        kept = [item for item in items if item.media]
        self.upsert_titles(Title.MOVIE, {i.movie.ids.trakt: i.movie for i in kept if i.movie})
        self.upsert_titles(
            Title.SHOW, {i.show.ids.trakt: i.show for i in kept if i.type != "movie"}
        )
        self.upsert_episodes(
            {i.episode.ids.trakt: (i.show, i.episode) for i in kept if i.type == "episode"}
        )
        placed = []
        for item in kept:
            fields = {"kind": item.type, "episode_id": None, "season": None}
            if item.type == "movie":
                fields |= {"trakt_id": item.movie.ids.trakt}
                fields["title_id"] = self.titles[(Title.MOVIE, item.movie.ids.trakt)]
            else:
                fields["title_id"] = self.titles[(Title.SHOW, item.show.ids.trakt)]
                fields["trakt_id"] = item.show.ids.trakt
            if item.type == "season":
                fields |= {"trakt_id": item.season.ids.trakt, "season": item.season.number}
            if item.type == "episode":
                fields |= {
                    "trakt_id": item.episode.ids.trakt,
                    "season": item.episode.season,
                    "episode_id": self.episodes[item.episode.ids.trakt],
                }
            placed.append((item, fields))
        return placed

    def store_favorites(self, items: list[ListedItem], generation: int) -> int:
        rows = {}
        for item, place in self.place(items):
            if item.type in ("movie", "show"):
                rows.setdefault(
                    place["title_id"],
                    Favorite(
                        title_id=place["title_id"],
                        rank=item.rank,
                        listed_at=_moment(item.listed_at),
                        notes=item.notes or "",
                        seen=generation,
                    ),
                )
        Favorite.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["title"],
            update_fields=["rank", "listed_at", "notes", "seen"],
        )
        return len(rows)

    def store_watchlist(self, items: list[ListedItem], generation: int) -> int:
        rows = {}
        for item, place in self.place(items):
            rows.setdefault(
                (place["kind"], place["trakt_id"]),
                WatchlistItem(**_listed(item, place, generation)),
            )
        WatchlistItem.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["kind", "trakt_id"],
            update_fields=LISTED_FIELDS,
        )
        return len(rows)

    def store_list(self, body: TraktList, position: int, generation: int) -> UserList:
        """A public list's own row (never called for another privacy)."""
        assert body.public, "only public lists are stored"
        row, _ = UserList.objects.update_or_create(
            trakt_id=body.ids.trakt,
            defaults={
                "slug": body.ids.slug or str(body.ids.trakt),
                "name": body.name,
                "description": body.description or "",
                "sort_by": body.sort_by or "",
                "sort_how": body.sort_how or "",
                "updated_at": _moment(body.updated_at),
                "item_count": body.item_count,
                "likes": body.likes,
                "position": position,
                "seen": generation,
            },
        )
        return row

    def store_list_items(
        self, user_list: UserList, items: list[ListedItem], first: int, generation: int
    ) -> int:
        """A page of a list's items; `first` is the position of its first item."""
        rows = {}
        for position, (item, place) in enumerate(self.place(items), start=first):
            rows.setdefault(
                (place["kind"], place["trakt_id"]),
                ListItem(list=user_list, position=position, **_listed(item, place, generation)),
            )
        ListItem.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["list", "kind", "trakt_id"],
            update_fields=[*LISTED_FIELDS, "position"],
        )
        return len(rows)

    def store_comments(self, items: list[UserComment], generation: int) -> int:
        rows = {}
        for item, place in self.place(items):
            body = item.comment
            if body.parent_id:
                continue  # a reply to someone: out of its thread, it says little
            rows.setdefault(
                body.id,
                Comment(
                    trakt_id=body.id,
                    kind=place["kind"],
                    title_id=place["title_id"],
                    episode_id=place["episode_id"],
                    season=place["season"],
                    text=body.comment,
                    spoiler=body.spoiler,
                    review=body.review,
                    likes=body.likes,
                    replies=body.replies,
                    user_rating=body.user_rating,
                    created_at=parse_time(body.created_at),
                    updated_at=_moment(body.updated_at),
                    seen=generation,
                ),
            )
        Comment.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["trakt_id"],
            update_fields=[
                "kind", "title", "episode", "season", "text", "spoiler", "review", "likes",
                "replies", "user_rating", "created_at", "updated_at", "seen",
            ],
        )  # fmt: skip
        return len(rows)


def _moment(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _listed(item: ListedItem, place: dict, generation: int) -> dict:
    return place | {
        "rank": item.rank,
        "listed_at": _moment(item.listed_at),
        "notes": item.notes or "",
        "seen": generation,
    }


def localize(play: Play, zone: zoneinfo.ZoneInfo) -> None:
    """The play's day, hour and weekday in `zone` (exact across DST: from the UTC moment)."""
    local = play.watched_at.astimezone(zone)
    play.local_date = local.date()
    play.local_hour = local.hour
    play.local_weekday = local.weekday()
    play.epoch_minute = int(play.watched_at.timestamp() // 60)
