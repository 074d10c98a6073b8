"""What the site keeps in its database: the history mirror, and the owner's Trakt sign-in.

The history mirror: the owner's Trakt plays, titles and ratings. `profile/mirror/sync/` writes it
(and only it); `profile/mirror/` reads it with GROUP BY queries. Each play stores its local
day, hour and weekday in TIME_ZONE, computed in Python when it is written (exact across DST
changes, and the same on SQLite and PostgreSQL, whose own time-zone functions disagree and
are slow); `SyncState.time_zone` says which zone they are in.

The sign-in: `TraktToken` and `TraktRateLimit`, written by `profile/signin/` only.
"""

from __future__ import annotations

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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "trakt_id"], name="title_kind_trakt_id"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


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
            models.Index(fields=["watched_at"], name="play_watched_at"),
            models.Index(fields=["kind", "watched_at"], name="play_kind_watched_at"),
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
