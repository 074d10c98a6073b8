"""The pages a visitor browses: the diary (/history), a page for every movie and show, the
watchlist, the lists and search. Thin: each reads one service of the mirror and renders the
page's partials; the wording of chips and headings is here and in the templates.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from profile import formatting
from profile.api.params import BadParameter, cursor, diary_filters, whole
from profile.decorators import html_page, json_endpoint, query_options
from profile.mirror import diary, library
from profile.mirror.detail import title_detail
from profile.mirror.diary import DiaryPage, Filters
from profile.mirror.search import MAX_QUERY, search
from profile.mirror.titles import TitleInfo
from profile.models import Genre, Title, genre_name
from profile.pages.grid import episode_grid, summary
from profile.pages.header import owner_name, short_name

log = logging.getLogger(__name__)

SHELF_PAGE = 60  # posters per page of the watchlist and of a list


def _unavailable(request, template: str, context: dict):
    log.warning("%s: the database could not be read", request.path)
    return render(request, template, context | {"unavailable": True}, status=503)


def _names() -> dict[str, str]:
    name = owner_name()
    return {"name": name, "short": short_name(name)}


# --- The diary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    label: str
    url: str  # the diary without this filter


def _query(filters: Filters, **more: str) -> str:
    return "?" + urlencode(filters.params() | more) if filters.active or more else "?"


def chips(filters: Filters, subject: TitleInfo | None) -> list[Chip]:
    """The active filters as removable chips, each named for a visitor."""
    found = []
    for name, value in filters.active.items():
        if name == "type":
            label = "Movies" if value == "movie" else "Episodes"
        elif name == "month":
            label = f"{value:%B %Y}"
        elif name == "day":
            label = f"{value:%a} {value.day} {value:%B %Y}"
        elif name == "hour":
            label = f"{value:02d}:00 to {(value + 1) % 24:02d}:00"
        elif name == "weekday":
            label = f"{calendar.day_name[value - 1]}s"
        elif name == "genre":
            label = genre_name(value)
        elif name in ("show", "movie"):
            label = subject.title if subject else value
        elif name == "rating":
            label = f"Movies and shows rated {value}"
        else:
            label = str(value)
        found.append(Chip(label, _query(filters.without(name))))
    return found


def _choices() -> dict:
    return {
        "years": diary.years(),
        "genres": [
            (slug, genre_name(slug)) for slug in Genre.objects.values_list("slug", flat=True)
        ],
        "weekdays": [(n, calendar.day_name[n - 1]) for n in range(1, 8)],
        "hours": [(h, f"{h:02d}:00") for h in range(24)],
        "ratings": list(range(10, 0, -1)),
    }


def _pager(found: DiaryPage, filters: Filters) -> dict:
    return {
        "newer": _query(filters, before=found.newer.cursor) if found.newer else None,
        "older": _query(filters, cursor=found.older.cursor) if found.older else None,
        "newest": _query(filters) if found.newer else None,
    }


@html_page
def diary_page(request):
    """/history: every play, newest first, grouped by the owner's day; filters combine and
    show as chips; paged by keyset (`cursor`: older than, `before`: newer than)."""
    # A form's "Any" sends an empty value: no filter, as when it is left out.
    options = {name: value for name, value in query_options(request).items() if value != ""}
    context = _names()
    try:
        filters = diary_filters(options)
        after, before = cursor(options, "cursor"), cursor(options, "before")
    except BadParameter as bad:
        return render(request, "profile/diary.html", context | {"problem": bad.message}, status=400)
    try:
        found = diary.diary_page(filters, after=after, before=before, limit=diary.PAGE)
        subject = diary.subject(filters)
        choices = _choices()
    except DatabaseError:
        return _unavailable(request, "profile/diary.html", context)
    context |= {
        "found": found,
        "filters": filters,
        "chips": chips(filters, subject),
        "subject": subject,
        "choices": choices,
        "pager": _pager(found, filters),
        "plays": formatting.counted(found.total, "play"),
    }
    return render(request, "profile/diary.html", context)


# --- Titles ---------------------------------------------------------------------------------------


def _words(slug: str) -> str:
    """A slug as a search query: "blade-runner-1982" -> "blade runner"."""
    return re.sub(r"-(?:19|20)\d\d$", "", slug).replace("-", " ").strip()


def _title(request, slug: str, kind: str):
    context = _names() | {"kind": kind}
    try:
        detail = title_detail(kind, slug)
    except DatabaseError:
        return _unavailable(request, "profile/title_missing.html", context)
    if detail is None:
        context["query"] = _words(slug)[:MAX_QUERY]
        context["hits"] = search(context["query"])
        return render(request, "profile/title_missing.html", context, status=404)
    context |= {
        "d": detail,
        "seasons": [
            {"grid": season, "squares": episode_grid(season), "summary": summary(season)}
            for season in detail.seasons
        ],
        "ratings": formatting.ratings_line(
            context["short"], detail.rating, detail.community_rating
        ),
        "diary": f"?{urlencode({'movie' if kind == Title.MOVIE else 'show': slug})}",
    }
    return render(request, "profile/title.html", context)


@html_page
def movie_page(request, slug: str):
    """/movies/<slug>: a movie the mirror knows; a 404 that offers the search otherwise."""
    return _title(request, slug, Title.MOVIE)


@html_page
def show_page(request, slug: str):
    """/shows/<slug>: a show the mirror knows, with its seasons."""
    return _title(request, slug, Title.SHOW)


# --- The watchlist and the lists ------------------------------------------------------------------


def _shelf_page(options) -> int:
    return whole(options, "page", 1, 1, 100_000)


def _last_page(total: int) -> int:
    return max(1, -(-total // SHELF_PAGE))


def _shelf_pager(page: int, total: int) -> dict:
    last = _last_page(total)
    return {
        "page": page,
        "pages": last,
        "first": (page - 1) * SHELF_PAGE + 1,
        "previous": f"?page={page - 1}" if page > 1 else None,
        "next": f"?page={page + 1}" if page < last else None,
    }


def _past_the_end(page: int, total: int, what: str) -> str:
    """Why a shelf's page past its last one is a 404 ("" when it is not past it)."""
    last = _last_page(total)
    if page <= last:
        return ""
    return f"There is no page {page:,}: {what} has {formatting.counted(last, 'page')}."


@html_page
def watchlist_page(request):
    """/watchlist: what the owner wants to watch, posters in their order."""
    context = _names()
    try:
        page = _shelf_page(query_options(request))
        items, total = library.watchlist((page - 1) * SHELF_PAGE, SHELF_PAGE)
    except BadParameter as bad:
        return render(
            request, "profile/watchlist.html", context | {"problem": bad.message}, status=400
        )
    except DatabaseError:
        return _unavailable(request, "profile/watchlist.html", context)
    if past := _past_the_end(page, total, "the watchlist"):
        return render(request, "profile/watchlist.html", context | {"problem": past}, status=404)
    context |= {"items": items, "total": total, "pager": _shelf_pager(page, total)}
    return render(request, "profile/watchlist.html", context)


@html_page
def lists_page(request):
    """/lists: the owner's public lists."""
    context = _names()
    try:
        context["lists"] = library.lists()
    except DatabaseError:
        return _unavailable(request, "profile/lists.html", context)
    return render(request, "profile/lists.html", context)


@html_page
def list_page(request, slug: str):
    """/lists/<slug>: one public list, its items in its own order."""
    context = _names()
    try:
        page = _shelf_page(query_options(request))
        found = library.user_list(slug, (page - 1) * SHELF_PAGE, SHELF_PAGE)
    except BadParameter as bad:
        return render(request, "profile/list.html", context | {"problem": bad.message}, status=400)
    except DatabaseError:
        return _unavailable(request, "profile/list.html", context)
    if found is None:
        return render(request, "profile/list.html", context | {"missing": slug}, status=404)
    summary, items = found
    if past := _past_the_end(page, summary.items, "the list"):
        return render(request, "profile/list.html", context | {"problem": past}, status=404)
    context |= {"list": summary, "items": items, "pager": _shelf_pager(page, summary.items)}
    return render(request, "profile/list.html", context)


# --- Search ---------------------------------------------------------------------------------------


def _search(request) -> dict:
    query = query_options(request).get("q", "")[:MAX_QUERY]
    context = _names() | {"query": query.strip()}
    context["hits"] = search(query) if query.strip() else []
    return context


@html_page
def search_page(request):
    """/search?q=: every title the site knows; works without script, and as you type with
    it (static/js/search.js asks /search/live)."""
    try:
        context = _search(request)
    except DatabaseError:
        return _unavailable(request, "profile/search.html", _names() | {"query": ""})
    return render(request, "profile/search.html", context)


@json_endpoint()
def search_live(request):
    """/search/live?q=: the results part of /search, rendered by the server for the page's
    script (like /live, not an API: its shape is the page's)."""
    try:
        context = _search(request)
    except DatabaseError:
        context = {"unavailable": True, "query": ""}
    html = render_to_string("profile/_search_results.html", context, request)
    response = JsonResponse({"query": context["query"], "html": html.strip()})
    patch_cache_control(response, no_cache=True)
    return response
