"""The bodies Trakt and TMDB send, checked at the boundary.

pydantic models of just the fields we use; unknown fields are ignored, and a body of a
surprising shape becomes `bad_response` (`http.parse`), never a KeyError further up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- Field types: every value checked into its type, within sane bounds -----------------------
#
# Required fields that fail make the whole body `bad_response`; optional ones (`Opt...`) are
# dropped to None instead, so one odd value costs that value, not the answer. In a list of
# items (`ValidItems[...]`) an odd item costs that item; `or_default(x)` puts a default in
# place of an odd value. What passes is safe for everything downstream:
#
# - `Text`: any string a page, a card (XML) and a database column can hold: no control
#   characters, no lone surrogates (the decoder marks them, `http.decode_json`), no U+FFFE
#   or U+FFFF; at most MAX_TEXT characters (cut with an ellipsis). It may be empty: use
#   `title or fallback`.
# - `Time`: an RFC 3339 string with a zone ("2026-11-23T21:07:00.000Z"), between 1900 and
#   2200 UTC, kept as sent; `parse_time()` turns it into an aware datetime, and every
#   datetime or timedelta sum of two such times (and "now") stays within Python's range.
# - `Id`, `Count`: whole numbers 0..2**53 (a 64-bit column, a float and JavaScript hold
#   them exactly); `Number`: 0..100,000 (a season, an episode, minutes); `OptYear`:
#   1800..2200; `Score`: 0..10, finite.
# - `OptSlug`: letters, digits, ".", "_", "-", beginning with a letter, a digit or "_" (Trakt
#   has slugs like "_captain"); never "." or "..", nor anything else a URL path reads apart.
#   `OptImdb`: tt/nm + digits.

# Control characters no page, card or database column should hold (PostgreSQL refuses NUL).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A lone surrogate cannot be encoded as UTF-8; U+FFFE and U+FFFF are no text (XML refuses
# them), and the decoder turns a lone surrogate escape into U+FFFF.
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 1000
# Big enough for any real id or count, small enough for a 64-bit column and a float.
MAX_INT = 2**53
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# RFC 3339, the form every browser's Date parses; datetime.fromisoformat alone would also
# take ISO 8601's other forms ("20260101T000000Z", "2026-W01-1", a space for the T).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def or_default(default: Any) -> WrapValidator:
    """A field validator that puts `default` in place of a value that fails its type."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return default

    return WrapValidator(validate)


# An optional field whose value fails its type is left out (None), not the whole answer.
DROP_IF_INVALID = or_default(None)


def _valid_items(value: Any, handler: ValidatorFunctionWrapHandler) -> list:
    if not isinstance(value, list):
        return handler(value)  # not a list at all: the field itself fails
    kept = []
    for item in value:
        try:
            kept.extend(handler([item]))
        except ValidationError:
            continue
    return kept


def _clean_text(value: str, limit: int = MAX_TEXT) -> str:
    if _UNENCODABLE.search(value):
        raise ValueError("a string that cannot be encoded")
    value = _CONTROL.sub("", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def parse_time(value: str) -> datetime:
    """A `Time` string as an aware datetime."""
    return datetime.fromisoformat(value)


def checked_time(value: str) -> str:
    """A time Trakt sent, kept as its own string (the JSON contract passes it on), but only
    if it is a real, zoned RFC 3339 moment between 1900 and 2200."""
    if not _RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 time with a zone")
    try:
        moment = parse_time(value)
        in_range = EARLIEST <= moment < LATEST
    except OverflowError:  # a valid date whose zone pushes it past year 1 or 9999
        in_range = False
    if not in_range:
        raise ValueError("a time out of range")
    return value


def matching(pattern: str, what: str) -> AfterValidator:
    """A check that the whole string matches `pattern`; else it is not `what`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"not {what}")
        return value

    return AfterValidator(check)


# The same rule as TRAKT_USERNAME's (nowwatching/settings.py), longer: titles' slugs hold years.
_slug = matching(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}", "a slug")
# A movie's, show's or list's slug: a path segment of this site's own pages too. Letters of
# any script (Trakt's slugs are ASCII today; one that is not still names a page), never "/",
# "%", a space or a dot first.
MEDIA_SLUG = r"[^\W_][\w.-]{0,199}"
_media_slug = matching(MEDIA_SLUG, "a slug")
_imdb = matching(r"(tt|nm)\d{1,12}", "an IMDb id")


T = TypeVar("T")

Text = Annotated[str, AfterValidator(_clean_text)]
OptText = Annotated[Text | None, DROP_IF_INVALID]
# A review, a note, an overview: longer than a title, still bounded.
MAX_LONG_TEXT = 20_000
LongText = Annotated[str, AfterValidator(lambda value: _clean_text(value, MAX_LONG_TEXT))]
OptLongText = Annotated[LongText | None, DROP_IF_INVALID]
Time = Annotated[str, Field(max_length=64), AfterValidator(checked_time)]
OptTime = Annotated[Time | None, DROP_IF_INVALID]
Id = Annotated[int, Field(ge=0, le=MAX_INT)]
OptId = Annotated[Id | None, DROP_IF_INVALID]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
OptCount = Annotated[Count | None, DROP_IF_INVALID]
Number = Annotated[int, Field(ge=0, le=100_000)]  # a season, an episode, a runtime in minutes
OptNumber = Annotated[Number | None, DROP_IF_INVALID]
OptYear = Annotated[Annotated[int, Field(ge=1800, le=2200)] | None, DROP_IF_INVALID]
OptSlug = Annotated[Annotated[str, _slug] | None, DROP_IF_INVALID]
OptMediaSlug = Annotated[Annotated[str, _media_slug] | None, DROP_IF_INVALID]
OptImdb = Annotated[Annotated[str, _imdb] | None, DROP_IF_INVALID]
Score = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]  # a rating, 0-10
OptScore = Annotated[Score | None, DROP_IF_INVALID]
ValidItems = Annotated[list[T], WrapValidator(_valid_items)]

MAX_GENRES = 20
_GENRE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _genre_slugs(value: Any) -> tuple[str, ...]:
    """Trakt's genre slugs ("science-fiction"): the well-formed ones, each once, at most 20;
    anything else in the list (or a list that is not one) is dropped, never an error."""
    if not isinstance(value, list | tuple):
        return ()
    slugs = []
    for item in value:
        if isinstance(item, str) and _GENRE.fullmatch(item) and item not in slugs:
            slugs.append(item)
    return tuple(slugs[:MAX_GENRES])


Genres = Annotated[tuple[str, ...], BeforeValidator(_genre_slugs)]


# --- Trakt ----------------------------------------------------------------------------------


class MediaIds(Body):
    trakt: Id
    slug: OptMediaSlug = None
    # Trakt sends "" as well as null for a missing IMDb id: both become None.
    imdb: OptImdb = None
    tmdb: OptId = None
    tvdb: OptId = None


class Movie(Body):
    title: OptText = None
    year: OptYear = None
    ids: MediaIds
    # With extended=full (the history and ratings ask for it): minutes, Trakt's genre slugs,
    # and the community's rating (0-10) and how many votes it rests on.
    runtime: OptNumber = None
    genres: Genres = ()
    rating: OptScore = None
    votes: OptCount = None
    overview: OptLongText = None


class Show(Movie):
    pass


class Episode(Body):
    season: Number
    number: Number
    title: OptText = None
    ids: MediaIds
    runtime: OptNumber = None
    rating: OptScore = None
    votes: OptCount = None


class Playable(Body):
    type: Literal["movie", "episode"]
    movie: Movie | None = None
    episode: Episode | None = None
    show: Show | None = None

    @model_validator(mode="after")
    def _has_its_media(self):
        if self.type == "movie" and self.movie is None:
            raise ValueError("a movie without its movie object")
        if self.type == "episode" and (self.episode is None or self.show is None):
            raise ValueError("an episode without its episode or show object")
        return self


class TraktWatching(Playable):
    started_at: Time
    expires_at: Time
    # The official enum is checkin|scrobble, but clients have seen others ("watching"); an
    # odd one reads as a scrobble.
    action: Annotated[
        str, Field(max_length=32), AfterValidator(_clean_text), or_default("scrobble")
    ] = "scrobble"


class HistoryItem(Playable):
    watched_at: Time


Action = Annotated[str, Field(max_length=32), AfterValidator(_clean_text)]


class HistoryPlay(HistoryItem):
    """One play of the history: `id` is Trakt's history id, unique per play."""

    id: Id
    # scrobble, checkin or watch (marked as watched); whatever else comes is kept as sent.
    action: Action = "watch"


class RatedItem(Body):
    """One of the owner's ratings (/users/{id}/ratings/...)."""

    rated_at: Time
    rating: Annotated[int, Field(ge=1, le=10)]
    type: Literal["movie", "show", "season", "episode"]
    movie: Movie | None = None
    show: Show | None = None
    episode: Episode | None = None

    @model_validator(mode="after")
    def _has_its_media(self):
        if self.type == "movie" and self.movie is None:
            raise ValueError("a movie rating without its movie")
        if self.type in ("show", "season", "episode") and self.show is None:
            raise ValueError("a rating without its show")
        if self.type == "episode" and self.episode is None:
            raise ValueError("an episode rating without its episode")
        return self


class ActivityTimes(Body):
    watched_at: OptTime = None
    rated_at: OptTime = None
    watchlisted_at: OptTime = None
    favorited_at: OptTime = None
    commented_at: OptTime = None
    updated_at: OptTime = None  # the groups watchlist, favorites and lists


class LastActivities(Body):
    """/sync/last_activities: when each part of the owner's data last changed."""

    all: OptTime = None
    movies: ActivityTimes = ActivityTimes()
    episodes: ActivityTimes = ActivityTimes()
    shows: ActivityTimes = ActivityTimes()
    seasons: ActivityTimes = ActivityTimes()
    watchlist: ActivityTimes = ActivityTimes()
    favorites: ActivityTimes = ActivityTimes()
    lists: ActivityTimes = ActivityTimes()

    def history_mark(self) -> tuple[str | None, str | None]:
        return (self.movies.watched_at, self.episodes.watched_at)

    def ratings_mark(self) -> tuple[str | None, str | None, str | None]:
        return (self.movies.rated_at, self.shows.rated_at, self.episodes.rated_at)

    def library_marks(self) -> dict[str, tuple[str | None, ...]]:
        """When each section of the owner's library last changed (mirror/sync/library.py)."""
        kinds = (self.movies, self.shows, self.seasons, self.episodes)
        return {
            "favorites": (
                self.favorites.updated_at,
                self.movies.favorited_at,
                self.shows.favorited_at,
            ),
            "watchlist": (self.watchlist.updated_at, *(k.watchlisted_at for k in kinds)),
            "lists": (self.lists.updated_at,),
            "comments": tuple(k.commented_at for k in kinds),
        }


class SearchResult(Body):
    """One result of Trakt's id lookup (/search/{id_type}/{id}): a movie, or an episode with
    its show (other types are skipped by the caller)."""

    type: Annotated[str, Field(max_length=16)]
    movie: Movie | None = None
    show: Show | None = None
    episode: Episode | None = None


class Avatar(Body):
    full: OptText = None


class ProfileImages(Body):
    avatar: Avatar | None = None


class UserIds(Body):
    # Trakt's contract lets it be null; `trakt.profile()` puts the slug it asked for there.
    slug: OptSlug = None
    trakt: OptId = None


class TraktProfile(Body):
    username: Text
    private: bool = False
    name: OptText = None
    vip: bool | None = False
    vip_ep: bool | None = False
    ids: UserIds
    joined_at: OptTime = None
    location: OptText = None
    about: OptText = None
    images: ProfileImages | None = None

    @property
    def trakt_url(self) -> str | None:
        """The profile on trakt.tv; None when Trakt gave no slug."""
        return f"https://trakt.tv/users/{quote(self.ids.slug, safe='')}" if self.ids.slug else None

    @property
    def avatar_url(self) -> str | None:
        if self.images and self.images.avatar and self.images.avatar.full:
            url = self.images.avatar.full
            # Only ever hand an http(s) or site-relative address to a page ("//host/x" is
            # another site's).
            if url.startswith(("https://", "http://", "/")) and not url.startswith("//"):
                return url
        return None


class Friend(Body):
    """Someone the owner follows (the `user` of /users/{id}/following)."""

    username: Text
    private: bool = False
    deleted: bool = False
    name: OptText = None
    ids: UserIds


class Followed(Body):
    user: Friend


# An odd count becomes 0: one number Trakt got wrong does not cost the whole stats answer.
ZeroIfOdd = Annotated[Count, or_default(0)]


class Counts(Body):
    plays: ZeroIfOdd = 0
    watched: ZeroIfOdd = 0
    minutes: ZeroIfOdd = 0
    collected: ZeroIfOdd = 0
    ratings: ZeroIfOdd = 0
    comments: ZeroIfOdd = 0


class Network(Body):
    friends: ZeroIfOdd = 0
    followers: ZeroIfOdd = 0
    following: ZeroIfOdd = 0


RATING_KEYS = frozenset(str(rating) for rating in range(1, 11))


def _ratings_only(distribution: dict[str, int | None]) -> dict[str, int]:
    return {k: v for k, v in distribution.items() if k in RATING_KEYS and v is not None}


class Ratings(Body):
    total: ZeroIfOdd = 0
    # Only "1".."10" with a count are kept.
    distribution: Annotated[
        dict[Annotated[str, Field(max_length=8)], OptCount], AfterValidator(_ratings_only)
    ] = {}


class TraktStats(Body):
    # Trakt always sends these; without them the body is not a stats answer at all.
    movies: Counts
    shows: Counts
    episodes: Counts
    network: Network
    seasons: Annotated[Counts, or_default(Counts())] = Counts()
    ratings: Annotated[Ratings, or_default(Ratings())] = Ratings()


# --- TMDB -----------------------------------------------------------------------------------


class TmdbImage(Body):
    file_path: Annotated[str, Field(max_length=200)]
    width: Annotated[Count, or_default(0)] = 0
    height: Annotated[Count, or_default(0)] = 0
    iso_639_1: Annotated[Annotated[str, Field(max_length=8)] | None, DROP_IF_INVALID] = None
    vote_average: Annotated[Score, or_default(0.0)] = 0.0
    vote_count: Annotated[Count, or_default(0)] = 0

    @field_validator("file_path")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        # The path is spliced into an image URL shown to browsers: one plain file name only.
        name = value[1:]
        if not value.startswith("/") or not name or "/" in name or ".." in name:
            raise ValueError("not a TMDB file path")
        if not all(c.isalnum() or c in "._-" for c in name):
            raise ValueError("not a TMDB file path")
        return value


class TmdbImages(Body):
    # An odd image is left out, not the others.
    backdrops: ValidItems[TmdbImage] = []
    posters: ValidItems[TmdbImage] = []
    stills: ValidItems[TmdbImage] = []


class TmdbGenre(Body):
    name: Text


class TmdbEpisode(Body):
    runtime: OptNumber = None


class TmdbDetails(Body):
    """/movie/{id} or /tv/{id}: only what the mirror takes from it (runtimes, genres)."""

    runtime: OptNumber = None  # a movie's minutes
    episode_run_time: ValidItems[Number] = []  # a show's usual episode length(s)
    last_episode_to_air: Annotated[TmdbEpisode | None, DROP_IF_INVALID] = None
    genres: ValidItems[TmdbGenre] = []

    @property
    def episode_runtime(self) -> int | None:
        """A show's usual episode length: TMDB's own figure, else its latest episode's."""
        if self.episode_run_time:
            return self.episode_run_time[0] or None
        return self.last_episode_to_air.runtime if self.last_episode_to_air else None


# --- Trakt OAuth (auth.trakt.tv) ------------------------------------------------------------

# Seconds: a device code lives minutes, a token days (7 now, 3 months until 2025).
Seconds = Annotated[int, Field(ge=0, le=10 * 365 * 24 * 3600)]


# A token travels in an Authorization header: printable, without spaces or line breaks.
Token = Annotated[str, matching(r"[A-Za-z0-9._~+/=-]{16,512}", "a token")]


class DeviceCode(Body):
    """The start of the device flow: the code the owner types at `verification_url`."""

    device_code: Token
    user_code: Annotated[str, matching(r"[A-Za-z0-9-]{1,32}", "a user code")]
    verification_url: Annotated[
        str, matching(r"https?://[^\s\x00-\x1f\x7f]{1,300}", "a web address")
    ]
    expires_in: Annotated[int, Field(ge=1, le=24 * 3600)]
    # Trakt says 5; a missing or odd value must not make the poll spin or stall.
    interval: Annotated[Annotated[int, Field(ge=1, le=600)] | None, DROP_IF_INVALID] = None


class TokenPair(Body):
    """An access token and the single-use refresh token that renews it."""

    access_token: Token
    refresh_token: Token
    token_type: Annotated[str, Field(pattern=r"^(?i:bearer)$")] = "bearer"
    expires_in: Annotated[int, Field(ge=60, le=10 * 365 * 24 * 3600)]
    created_at: Annotated[int, Field(ge=int(EARLIEST.timestamp()), lt=int(LATEST.timestamp()))]
    scope: OptText = None

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_at + self.expires_in, UTC)


class OAuthError(Body):
    """Trakt's refusal of a token request: `invalid_grant`, `invalid_client`, ..."""

    error: Annotated[str, Field(max_length=64), AfterValidator(_clean_text)]


class RateLimitHeader(Body):
    """Trakt's informational `X-Ratelimit` header, sent with every answer."""

    name: Annotated[str, Field(max_length=64), AfterValidator(_clean_text)] = ""
    period: Annotated[Seconds | None, DROP_IF_INVALID] = None
    limit: Count
    remaining: Count
    until: OptTime = None
