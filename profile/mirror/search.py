"""Search every title the site knows (watched, rated, favourites, the watchlist, the lists),
with the database's own full-text search: SQLite's FTS5, PostgreSQL's tsvector.

Both index `Title.search_text`, the title's words as `models.search_words()` reads them
(case folded, accents dropped, apostrophes and hyphens joining a word's parts, an unspaced
script's characters one by one), and a query is read the same way: every word a prefix
(typing "blade ru" finds Blade Runner), a run of Chinese, Japanese or Korean characters a
phrase of them. Ranked: the title that is exactly the query first, then the ones the owner
watched, then the database's own rank (FTS5's bm25, PostgreSQL's ts_rank). Characters that
mean something to SQL or to the search syntax (`%`, `_`, quotes, `*`, `:`) never reach it:
only the words do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from profile.mirror.queries import play_counts
from profile.mirror.titles import TitleInfo
from profile.models import Favorite, ListItem, Title, WatchlistItem, search_words

MAX_QUERY = 500  # characters read of a query
MAX_WORDS = 12  # and words of those
LIMIT = 30


@dataclass(frozen=True)
class Hit:
    """A title found, and where the site knows it from."""

    title: TitleInfo
    plays: int
    exact: bool
    favorite: bool
    watchlist: bool
    lists: tuple[tuple[str, str], ...]  # (slug, name) of the public lists it is on


@dataclass(frozen=True)
class Query:
    """A query as the database reads it: the FTS5 and tsquery expressions, and the exact
    title it would be (`key`)."""

    fts5: str
    tsquery: str
    key: str

    @classmethod
    def of(cls, text: str) -> Query | None:
        words = search_words(text[:MAX_QUERY])[:MAX_WORDS]
        if not words:
            return None
        fts5, tsquery, run = [], [], []

        def close_run() -> None:
            # Characters of an unspaced script next to each other: a phrase of them.
            if run:
                fts5.append('"' + " ".join(run) + '"')
                tsquery.append("(" + " <-> ".join(f"'{w}'" for w in run) + ")")
                run.clear()

        for forms, unspaced in words:
            word = forms[0][:64]  # only [a-z0-9]: nothing to escape in either syntax
            if unspaced:
                run.append(word)
                continue
            close_run()
            fts5.append(f'"{word}"*')
            tsquery.append(f"'{word}':*")
        close_run()
        key = " ".join(forms[0] for forms, _ in words)
        return cls(" ".join(fts5), " & ".join(tsquery), key)


def search(text: str, limit: int = LIMIT) -> list[Hit]:
    """The titles that match `text`, best first; none for a query without a word."""
    query = Query.of(text)
    if query is None:
        return []
    ids = _sqlite(query, limit) if connection.vendor == "sqlite" else _postgres(query, limit)
    if not ids:
        return []
    titles = Title.objects.in_bulk(ids)
    plays = play_counts("title", title__in=ids)
    favorite = set(Favorite.objects.filter(title__in=ids).values_list("title", flat=True))
    watchlist = set(WatchlistItem.objects.filter(title__in=ids).values_list("title", flat=True))
    lists: dict[int, list[tuple[str, str]]] = {}
    for title, slug, name in (
        ListItem.objects.filter(title__in=ids)
        .order_by("list__position", "list_id")
        .values_list("title", "list__slug", "list__name")
        .distinct()
    ):
        lists.setdefault(title, []).append((slug, name))
    return [
        Hit(
            TitleInfo.of(titles[pk]),
            plays.get(pk, 0),
            titles[pk].search_key == query.key,
            pk in favorite,
            pk in watchlist,
            tuple(lists.get(pk, ())),
        )
        for pk in ids
        if pk in titles
    ]


def _sqlite(query: Query, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id FROM profile_title_search s JOIN profile_title t ON t.id = s.rowid "
            "WHERE profile_title_search MATCH %s "
            "ORDER BY t.search_key = %s DESC, "
            "EXISTS (SELECT 1 FROM profile_play p WHERE p.title_id = t.id) DESC, "
            "bm25(profile_title_search), t.title, t.id LIMIT %s",
            [query.fts5, query.key, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _postgres(query: Query, limit: int) -> list[int]:
    # The expression the GIN index of migration 0003 is built on, to the letter.
    vector = "to_tsvector('simple', t.search_text)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id FROM profile_title t, to_tsquery('simple', %s) q "
            f"WHERE {vector} @@ q "
            "ORDER BY t.search_key = %s DESC, "
            "EXISTS (SELECT 1 FROM profile_play p WHERE p.title_id = t.id) DESC, "
            f"ts_rank({vector}, q) DESC, t.title, t.id LIMIT %s",
            [query.tsquery, query.key, limit],
        )
        return [row[0] for row in cursor.fetchall()]
