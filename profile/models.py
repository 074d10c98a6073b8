"""What the site keeps in its database: the history mirror, and the owner's Trakt sign-in.

The history mirror: the owner's Trakt plays, titles and ratings. `profile/mirror/sync/` writes it
(and only it); `profile/mirror/` reads it with GROUP BY queries. Each play stores its local
day, hour and weekday in TIME_ZONE, computed in Python when it is written (exact across DST
changes, and the same on SQLite and PostgreSQL, whose own time-zone functions disagree and
are slow); `SyncState.time_zone` says which zone they are in.

The owner's library, mirrored by the same sync: favourites, the watchlist, the public lists
and their items, and the owner's comments (shouts and reviews). Only what Trakt shows
everyone is kept: a list whose privacy is anything but `public` is never stored.

The sign-in: `TraktToken` and `TraktRateLimit`, written by `profile/signin/` only.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import models


class OneRow(models.Manager):
    """The manager of a table that holds one row at most (id 1)."""

    ID = 1

    def row(self) -> models.QuerySet:
        """That row as a query: `.first()` reads it, `.update()` writes it (with more filters,
        conditionally), `.values()` reads some of its fields."""
        return self.filter(pk=self.ID)


class Genre(models.Model):
    """A Trakt genre slug ("science-fiction")."""

    slug = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def name(self) -> str:
        return genre_name(self.slug)


# Trakt's genre slugs that do not read well when merely capitalised.
GENRE_NAMES = {
    "science-fiction": "Science fiction",
    "tv-movie": "TV movie",
    "anime": "Anime",
    "suspense": "Suspense",
    "reality": "Reality TV",
    "game-show": "Game show",
    "talk-show": "Talk show",
    "soap": "Soap",
}


def genre_name(slug: str) -> str:
    return GENRE_NAMES.get(slug) or slug.replace("-", " ").capitalize()


class Title(models.Model):
    """A movie or a show, as Trakt describes it (extended=full)."""

    MOVIE, SHOW = "movie", "show"
    KINDS = [(MOVIE, "Movie"), (SHOW, "Show")]

    kind = models.CharField(max_length=5, choices=KINDS)
    trakt_id = models.BigIntegerField()
    slug = models.CharField(max_length=200, blank=True)
    tmdb_id = models.BigIntegerField(null=True, blank=True)
    imdb_id = models.CharField(max_length=16, blank=True)
    tvdb_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=1000, blank=True)
    year = models.SmallIntegerField(null=True, blank=True)
    # Minutes: a movie's length, a show's usual episode length.
    runtime = models.PositiveIntegerField(null=True, blank=True)
    genres = models.ManyToManyField(Genre, related_name="titles", blank=True)
    community_rating = models.FloatField(null=True, blank=True)  # Trakt's, 0-10
    community_votes = models.BigIntegerField(null=True, blank=True)
    # TMDB's poster file ("/abc.jpg"), filled in by the background job; "" = none known.
    poster_path = models.CharField(max_length=200, blank=True)
    poster_checked_at = models.DateTimeField(null=True, blank=True)
    # TMDB's backdrop file, looked up with the poster (the title's page draws it).
    backdrop_path = models.CharField(max_length=200, blank=True)
    overview = models.TextField(blank=True)
    # The title as search reads it (`search_words()`): `search_key` its words, for an exact
    # match; `search_text` every word and form of it (and the year), indexed by the
    # database's own full-text search (SQLite FTS5, PostgreSQL tsvector: migration 0003).
    search_key = models.CharField(max_length=1000, blank=True)
    search_text = models.CharField(max_length=2000, blank=True)
    # When TMDB was asked for the runtime and genres Trakt's export leaves out (imported
    # titles only: the sync's own answers carry them).
    details_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "trakt_id"], name="title_kind_trakt_id"),
        ]
        indexes = [models.Index(fields=["kind", "slug"], name="title_kind_slug")]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def save(self, *args, **kwargs):
        # The writer sets them in bulk (profile/mirror/sync/writer.py); any other write too.
        self.search_key, self.search_text = search_fields(self.title, self.year)
        super().save(*args, **kwargs)


# --- Search: the words of a title ----------------------------------------------------------------
#
# Computed in Python when a title is written (like a play's local day), so both databases
# index the very same words whatever their locale: case folded, accents dropped (Amélie is
# amelie, İ and ı are i), apostrophes and hyphens joining a word's parts (Schindler's is
# schindlers, schindler and s), and every character of a script written without spaces
# (Chinese, Japanese, Korean, Thai) a word of its own, so a query finds it anywhere in a
# title. Letters outside ASCII that remain (Cyrillic, Greek, Arabic, ...) are spelt as
# x + their code point in hex, which every tokenizer reads as one plain word.

# Letters that carry no accent to drop but read as these in a search box.
_FOLDED = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                         "þ": "th", "ı": "i"})  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:['’ʼ\-][^\W_]+)*")
_JOINERS = re.compile(r"['’ʼ\-]")
# Scripts written without spaces between words: each character is searched on its own.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_PIECES = re.compile(f"[{_UNSPACED}]|[^{_UNSPACED}]+")
_IS_UNSPACED = re.compile(f"[{_UNSPACED}]")


def _fold(text: str) -> str:
    text = text.replace("İ", "i").casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", text).translate(_FOLDED)


def _spelt(word: str) -> str:
    return "".join(c if c.isascii() else f"x{ord(c):06x}" for c in word)


def _forms(word: str) -> list[str]:
    """A word's forms: the whole of it (its parts joined), then each part."""
    parts = [part for part in _JOINERS.split(word) if part]
    return [_spelt(form) for form in ["".join(parts), *(parts if len(parts) > 1 else [])]]


def search_words(text: str) -> list[tuple[list[str], bool]]:
    """The words of `text` as search reads them: for each, its forms (`_forms`) and whether
    it is one character of an unspaced script (a run of them gives a word per character)."""
    found: list[tuple[list[str], bool]] = []
    for match in _WORD.finditer(_fold(text)):
        for piece in _PIECES.findall(match[0]):
            if _IS_UNSPACED.fullmatch(piece):
                found.append(([_spelt(piece)], True))
            elif forms := [form for form in _forms(piece) if form]:
                found.append((forms, False))
    return found


def search_fields(title: str, year: int | None) -> tuple[str, str]:
    """(`search_key`, `search_text`) of a title (see the Title model)."""
    words = [forms for forms, _ in search_words(title or "")]
    key = " ".join(forms[0] for forms in words)
    text = " ".join(form for forms in words for form in dict.fromkeys(forms))
    if year:
        text = f"{text} {year}".strip()
    return key[:1000], text[:2000]


class Episode(models.Model):
    trakt_id = models.BigIntegerField(unique=True)
    show = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="episodes")
    season = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=1000, blank=True)
    runtime = models.PositiveIntegerField(null=True, blank=True)
    tmdb_id = models.BigIntegerField(null=True, blank=True)
    imdb_id = models.CharField(max_length=16, blank=True)
    tvdb_id = models.BigIntegerField(null=True, blank=True)
    community_rating = models.FloatField(null=True, blank=True)
    community_votes = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.show.title} S{self.season}E{self.number}"


class Play(models.Model):
    """One play of the history: a movie, or an episode of a show."""

    MOVIE, EPISODE = "movie", "episode"
    KINDS = [(MOVIE, "Movie"), (EPISODE, "Episode")]

    history_id = models.BigIntegerField(unique=True)  # Trakt's, unique per play
    watched_at = models.DateTimeField()
    action = models.CharField(max_length=32)  # scrobble, checkin, watch
    kind = models.CharField(max_length=7, choices=KINDS)
    # The movie, or the show of the episode.
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="plays")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="plays"
    )
    runtime = models.PositiveIntegerField(default=0)  # minutes credited to this play
    # Buckets in SyncState.time_zone, computed when written (see the module's docstring).
    local_date = models.DateField()
    local_hour = models.PositiveSmallIntegerField()
    local_weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    # watched_at in whole minutes since 1970 (UTC): gaps between plays in portable SQL.
    epoch_minute = models.BigIntegerField()
    # Episodes: when this play's run began (the first play's epoch_minute less its runtime),
    # a run being plays of one show with gaps under an hour. Kept by the sync
    # (mirror/sync/upkeep.refresh_runs), null until then: the longest binge is then a plain GROUP BY.
    run_start = models.BigIntegerField(null=True, blank=True)
    # The walk (backfill or --full) that saw it last; a walk's sweep removes the others.
    seen = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # The diary's order (newest first, the history id breaking ties), and its filters
            # read from the index alone: a page by keyset, or a deep page's skip, never reads
            # the table (profile/mirror/diary.py).
            models.Index(
                fields=[
                    "watched_at",
                    "history_id",
                    "kind",
                    "title",
                    "local_date",
                    "local_hour",
                    "local_weekday",
                ],
                name="play_diary",
            ),  # fmt: skip
            # One title's plays: its page (in order, and its figures: plays, time, first and
            # last, each episode's plays, its runs) and the diary of one show or movie, all
            # read from the index alone.
            models.Index(
                fields=[
                    "title",
                    "watched_at",
                    "history_id",
                    "kind",
                    "episode",
                    "runtime",
                    "run_start",
                    "epoch_minute",
                ],
                name="play_title",
            ),  # fmt: skip
            # Covers the GROUP BYs over a range of days (heatmap, /api/activity, a year's
            # figures and its longest binge): they never read the table.
            models.Index(
                fields=["local_date", "kind", "title", "run_start", "runtime", "epoch_minute"],
                name="play_days",
            ),
            # The shows whose runs the sync must work out again.
            models.Index(
                fields=["title"],
                condition=models.Q(kind="episode", run_start__isnull=True),
                name="play_runs_to_refresh",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.history_id} {self.kind} {self.watched_at:%Y-%m-%d %H:%M}"


class Rating(models.Model):
    """One of the owner's ratings of a movie, a show or an episode."""

    KINDS = [("movie", "Movie"), ("show", "Show"), ("episode", "Episode")]

    kind = models.CharField(max_length=7, choices=KINDS)
    trakt_id = models.BigIntegerField()  # of the movie, show or episode rated
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="ratings")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="ratings"
    )
    rating = models.PositiveSmallIntegerField()  # 1-10
    rated_at = models.DateTimeField()
    seen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "trakt_id"], name="rating_kind_trakt_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.trakt_id}: {self.rating}"


# --- The owner's library (profile/mirror/sync/library.py) -------------------------------------
#
# Each row points at a Title (the movie, or the show of a season or an episode), so every page
# can draw it; `seen` is the walk that saw it last, and a complete walk removes the others.

MEDIA_KINDS = [("movie", "Movie"), ("show", "Show"), ("season", "Season"), ("episode", "Episode")]


class Listed(models.Model):
    """What the watchlist and a list's items share: the thing listed, and how."""

    kind = models.CharField(max_length=7, choices=MEDIA_KINDS)
    trakt_id = models.BigIntegerField()  # of the movie, show, season or episode
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="%(class)ss")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss"
    )
    season = models.PositiveIntegerField(null=True, blank=True)  # seasons and episodes
    rank = models.PositiveIntegerField(default=0)  # the owner's order
    listed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    seen = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class Favorite(models.Model):
    """One of the owner's favourite movies or shows, in the owner's order."""

    title = models.OneToOneField(Title, on_delete=models.CASCADE, related_name="favorite")
    rank = models.PositiveIntegerField(default=0)
    listed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    seen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["rank", "pk"]

    def __str__(self) -> str:
        return f"favourite {self.rank}: {self.title}"


class WatchlistItem(Listed):
    class Meta:
        ordering = ["rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "trakt_id"], name="watchlist_kind_trakt_id")
        ]
        indexes = [models.Index(fields=["title"], name="watchlist_title")]

    def __str__(self) -> str:
        return f"watchlist {self.rank}: {self.kind} {self.trakt_id}"


class UserList(models.Model):
    """One of the owner's lists. Only public ones are ever stored (the sync skips the rest
    and removes a list that stopped being public)."""

    trakt_id = models.BigIntegerField(unique=True)
    slug = models.CharField(max_length=200)
    name = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    sort_by = models.CharField(max_length=32, blank=True)
    sort_how = models.CharField(max_length=4, blank=True)
    updated_at = models.DateTimeField(
        null=True, blank=True
    )  # Trakt's: items are fetched when it moves
    item_count = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)  # in Trakt's order of the owner's lists
    seen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["slug"], name="userlist_slug")]

    def __str__(self) -> str:
        return self.name


class ListItem(Listed):
    list = models.ForeignKey(UserList, on_delete=models.CASCADE, related_name="items")
    # Where Trakt put it in the list's own order (its sort), across pages.
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["list", "kind", "trakt_id"], name="listitem_list_kind_trakt_id"
            )
        ]
        indexes = [models.Index(fields=["title"], name="listitem_title")]

    def __str__(self) -> str:
        return f"{self.list_id} #{self.position}: {self.kind} {self.trakt_id}"


class Comment(models.Model):
    """One of the owner's comments: a shout, or a review (`review`), on a movie, a show, one
    of its seasons or an episode."""

    trakt_id = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=7, choices=MEDIA_KINDS)
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="comments")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    season = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    spoiler = models.BooleanField(default=False)
    review = models.BooleanField(default=False)
    likes = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    user_rating = models.PositiveSmallIntegerField(null=True, blank=True)  # given with it
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    seen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-trakt_id"]
        indexes = [models.Index(fields=["review", "created_at"], name="comment_review_created")]

    def __str__(self) -> str:
        return f"comment {self.trakt_id} on {self.kind} {self.title_id}"


class SyncState(models.Model):
    """The sync's own state: one row (pk 1)."""

    # Whose history the mirror holds ("demo", or Trakt's address and the user): another
    # owner means starting afresh.
    owner = models.CharField(max_length=300, blank=True)
    # The lease: one sync at a time across processes and machines (profile/mirror/sync/lease.py).
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # A walk over the whole history (the first backfill or a --full), newest first, one
    # window at a time (profile/mirror/sync/walk.py): the plays watched up to `walk_cursor`,
    # page `walk_cursor_page` of them (1 unless more plays share one moment than a page
    # holds). It continues there when it was interrupted; `walk_next_page` counts its pages.
    walk_kind = models.CharField(max_length=10, blank=True)  # "backfill" or "full"
    walk_next_page = models.PositiveIntegerField(null=True, blank=True)
    walk_end_at = models.DateTimeField(null=True, blank=True)
    walk_cursor = models.DateTimeField(null=True, blank=True)
    walk_cursor_page = models.PositiveIntegerField(default=1)
    # While paging within one moment: Trakt's count of the window when it began.
    walk_item_count = models.BigIntegerField(null=True, blank=True)
    # Plays that could not be read (or a window that moved while it was paged): removals wait.
    walk_skipped = models.PositiveIntegerField(default=0)
    generation = models.BigIntegerField(default=0)
    ratings_generation = models.BigIntegerField(default=0)
    backfilled_at = models.DateTimeField(null=True, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)
    # Runs: when one last started, ended well, and what it did or why it failed.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=300, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # /sync/last_activities as last seen (with an OAuth token).
    last_activities = models.JSONField(default=dict, blank=True)
    # Without a token: when each section of the library was last fetched ({"watchlist":
    # "2026-12-07T10:00:00+00:00", ...}); each is asked again at most hourly.
    library_fetched_at = models.JSONField(default=dict, blank=True)
    # The zone the plays' local buckets are in.
    time_zone = models.CharField(max_length=64, blank=True)
    # The pace's token bucket, kept between runs.
    pace_tokens = models.FloatField(null=True, blank=True)
    pace_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every change of the mirror: cached aggregates are keyed by it.
    version = models.BigIntegerField(default=0)

    objects = OneRow()

    def __str__(self) -> str:
        return f"sync state v{self.version}"


class TraktSnapshot(models.Model):
    """The owner's profile and stats as Trakt's data export held them (one row, id 1):
    what the site shows where it cannot ask Trakt (no API app, `import_trakt_export`)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    slug = models.CharField(max_length=200)  # whose export it is
    profile = models.JSONField(default=dict, blank=True)  # /users/{slug}?extended=full
    stats = models.JSONField(default=dict, blank=True)  # /users/{slug}/stats
    # When the export was made (its files' own date), and when it was imported here.
    data_as_of = models.DateTimeField()
    imported_at = models.DateTimeField()

    objects = OneRow()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_trakt_snapshot")]

    def __str__(self) -> str:
        return f"Trakt export of @{self.slug} as of {self.data_as_of:%Y-%m-%d}"


# --- The owner's Trakt sign-in (profile/signin/) -------------------------------------------------


class TraktToken(models.Model):
    """The owner's Trakt sign-in: at most one row (id 1), written by `profile.signin` only.

    Both tokens are encrypted with a key derived from SECRET_KEY (`signin.sealing.seal`): the database
    alone does not give them away. `generation` grows by one with every new pair, and the
    lease (`renewing_until`) lets exactly one caller renew a given generation.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField()
    # From the token answer's created_at and expires_in, never from a fixed lifetime.
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Whose token: /users/me when it was signed in ("" if Trakt did not say).
    user_slug = models.CharField(max_length=200, blank=True)
    user_name = models.CharField(max_length=1000, blank=True)
    signed_in_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveBigIntegerField(default=1)
    # The lease: while in the future, one caller is renewing this generation.
    renewing_until = models.DateTimeField(null=True, blank=True)
    # After a renewal failed for a passing reason (Trakt down), none is tried before this.
    next_renewal_at = models.DateTimeField(null=True, blank=True)
    renewal_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Trakt refused to renew (invalid_grant), or the tokens cannot be decrypted: the site no
    # longer calls Trakt with them, until the owner signs in again.
    signed_out_at = models.DateTimeField(null=True, blank=True)

    objects = OneRow()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_trakt_token")]

    def __str__(self) -> str:  # never the tokens
        return f"Trakt sign-in of @{self.user_slug or '?'} (generation {self.generation})"

    @property
    def signed_out(self) -> bool:
        return self.signed_out_at is not None


class TraktRateLimit(models.Model):
    """The last `X-Ratelimit` Trakt sent, for `manage.py trakt_status` in another process.

    One row (id 1), written at most about once a minute (`signin.rate_limit`).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.CharField(max_length=64, blank=True)
    limit = models.PositiveBigIntegerField()
    remaining = models.PositiveBigIntegerField()
    period = models.PositiveIntegerField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField()

    objects = OneRow()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_trakt_rate_limit")
        ]

    def __str__(self) -> str:
        return f"{self.remaining} of {self.limit} Trakt calls left ({self.name})"
