"""Trakt's calls for the owner's library, and the bodies they answer: the favourites, the
watchlist, the lists and their items, and the owner's comments (shouts and reviews).

Every call is paginated: `limit` is always sent (since April 2026 an unpaged watchlist is
cut to 100 items without a word, and Trakt caps a page at 250), and the caller follows the
X-Pagination-* headers (`trakt.Page`). Each asks `extended=full`, so a title the owner has
not watched arrives with what its page shows (overview, runtime, genres, ratings).

Reference: shared/reference/upstream-more.md, sections 2.1-2.5.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from profile.client.schemas import (
    Body,
    Count,
    Episode,
    Id,
    LongText,
    Movie,
    Number,
    OptId,
    OptLongText,
    OptMediaSlug,
    OptTime,
    Show,
    Text,
    Time,
    _clean_text,
    or_default,
)
from profile.client.trakt import (
    LIST_MAX_BYTES,
    PAGE_LIMIT,
    Page,
    TraktAuth,
    _page,
    call,
    user_segment,
)

# --- Bodies ---------------------------------------------------------------------------------------


class SeasonIds(Body):
    trakt: Id
    tmdb: OptId = None
    tvdb: OptId = None


class Season(Body):
    number: Number
    ids: SeasonIds


MEDIA_TYPES = ("movie", "show", "season", "episode")


class Media(Body):
    """A movie, a show, a season or an episode (the last two with their show), or something
    this site leaves out (a person on a list, a comment on a list): `media` says which."""

    type: Literal["movie", "show", "season", "episode", "person", "list"]
    movie: Movie | None = None
    show: Show | None = None
    season: Season | None = None
    episode: Episode | None = None

    @property
    def media(self) -> bool:
        return self.type in MEDIA_TYPES

    @model_validator(mode="after")
    def _has_its_media(self):
        if self.type == "movie" and self.movie is None:
            raise ValueError("a movie without its movie object")
        if self.type in ("show", "season", "episode") and self.show is None:
            raise ValueError("a show, season or episode without its show")
        if self.type == "season" and self.season is None:
            raise ValueError("a season without its season object")
        if self.type == "episode" and self.episode is None:
            raise ValueError("an episode without its episode object")
        return self


class ListedItem(Media):
    """An item of the watchlist, of a list or of the favourites (Trakt's listed-item
    wrapper); `rank` is the owner's order."""

    rank: Annotated[Count, or_default(0)] = 0
    listed_at: OptTime = None
    notes: OptLongText = None


class ListIds(Body):
    trakt: Id
    slug: OptMediaSlug = None


ShortText = Annotated[str, Field(max_length=32), AfterValidator(_clean_text)]


class TraktList(Body):
    """One of the user's lists. `privacy` decides whether it may be shown at all: only
    "public"; one that says nothing (or something new) is not."""

    name: Text
    description: OptLongText = None
    privacy: Annotated[ShortText, or_default("unknown")] = "unknown"
    ids: ListIds
    sort_by: Annotated[ShortText | None, or_default(None)] = None
    sort_how: Annotated[ShortText | None, or_default(None)] = None
    updated_at: OptTime = None
    item_count: Annotated[Count, or_default(0)] = 0
    likes: Annotated[Count, or_default(0)] = 0

    @property
    def public(self) -> bool:
        return self.privacy == "public"


class CommentBody(Body):
    id: Id
    parent_id: Annotated[Count, or_default(0)] = 0
    created_at: Time
    updated_at: OptTime = None
    comment: LongText
    spoiler: Annotated[bool, or_default(False)] = False
    review: Annotated[bool, or_default(False)] = False
    replies: Annotated[Count, or_default(0)] = 0
    likes: Annotated[Count, or_default(0)] = 0
    # The rating the owner gave with it.
    user_rating: Annotated[Annotated[int, Field(ge=1, le=10)] | None, or_default(None)] = None


class UserComment(Media):
    comment: CommentBody


# --- Calls ----------------------------------------------------------------------------------------


def _listed(
    auth: TraktAuth, endpoint: str, path: str, model, page: int, limit: int, **extra: Any
) -> Page:
    params = {"extended": "full", "page": page, "limit": limit} | extra
    data, reply = call(auth, endpoint, path, params, max_bytes=LIST_MAX_BYTES)
    return _page(data, reply, model)


def favorites_page(
    auth: TraktAuth, user: str, *, page: int, limit: int = PAGE_LIMIT
) -> Page[ListedItem]:
    """The user's favourite movies and shows, by rank."""
    # Reference: upstream-more.md 2.2 (the classic path wants a token: the sync sends the
    # owner's when it has one).
    path = f"/users/{user_segment(user)}/favorites"
    return _listed(auth, "favorites", path, ListedItem, page, limit)


def watchlist_page(
    auth: TraktAuth, user: str, *, page: int, limit: int = PAGE_LIMIT
) -> Page[ListedItem]:
    """The user's watchlist: movies, shows, seasons and episodes, by rank."""
    # Reference: upstream-more.md 2.3 (unpaged, it is cut to 100 items since April 2026).
    path = f"/users/{user_segment(user)}/watchlist"
    return _listed(auth, "watchlist", path, ListedItem, page, limit)


def lists_page(
    auth: TraktAuth, user: str, *, page: int, limit: int = PAGE_LIMIT
) -> Page[TraktList]:
    """The user's own lists, whatever their privacy (the caller keeps the public ones)."""
    # Reference: upstream-more.md 2.4
    path = f"/users/{user_segment(user)}/lists"
    return _listed(auth, "lists", path, TraktList, page, limit)


def list_items_page(
    auth: TraktAuth, user: str, list_id: int, *, page: int, limit: int = PAGE_LIMIT
) -> Page[ListedItem]:
    """One list's items, in the list's own order."""
    # Reference: upstream-more.md 2.4
    path = f"/users/{user_segment(user)}/lists/{list_id}/items"
    return _listed(auth, "list items", path, ListedItem, page, limit)


def comments_page(
    auth: TraktAuth, user: str, *, page: int, limit: int = PAGE_LIMIT
) -> Page[UserComment]:
    """The user's own comments (top level: shouts and reviews, not replies), newest first."""
    # Reference: upstream-more.md 2.5
    path = f"/users/{user_segment(user)}/comments/all/all"
    return _listed(auth, "comments", path, UserComment, page, limit, include_replies="false")
