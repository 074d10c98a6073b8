from django.urls import path, re_path

from profile import errors
from profile.api import hooks
from profile.api import views as api
from profile.pages import browse
from profile.pages import views as pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("live", pages.live, name="live"),
    path("live/stream", pages.live_stream, name="live-stream"),
    path("year/<int:yyyy>", pages.year_in_review, name="year"),
    path("history", browse.diary_page, name="diary"),
    path("movies/<str:slug>", browse.movie_page, name="movie"),
    path("shows/<str:slug>", browse.show_page, name="show"),
    path("watchlist", browse.watchlist_page, name="watchlist"),
    path("lists", browse.lists_page, name="lists"),
    path("lists/<str:slug>", browse.list_page, name="list"),
    path("search", browse.search_page, name="search"),
    path("search/live", browse.search_live, name="search-live"),
    path("api/watching", api.api_watching, name="api-watching"),
    path("api/watching.svg", api.watching_svg, name="api-watching-svg"),
    path("api/profile", api.api_profile, name="api-profile"),
    path("api/stats", api.api_stats, name="api-stats"),
    path("api/history", api.api_history, name="api-history"),
    path("api/activity", api.api_activity, name="api-activity"),
    path("api/year/<int:yyyy>", api.api_year, name="api-year"),
    path("api/export/history.csv", api.api_export, {"format": "csv"}, name="api-export-csv"),
    path("api/export/history.json", api.api_export, {"format": "json"}, name="api-export-json"),
    path(
        "api/export/letterboxd.csv",
        api.api_export,
        {"format": "letterboxd"},
        name="api-export-letterboxd",
    ),
    path("api/favorites", api.api_favorites, name="api-favorites"),
    path("api/watchlist", api.api_watchlist, name="api-watchlist"),
    path("api/lists", api.api_lists, name="api-lists"),
    path("api/lists/<str:slug>", api.api_list, name="api-list"),
    path("api/titles/movies/<str:slug>", api.api_movie, name="api-movie"),
    path("api/titles/shows/<str:slug>", api.api_show, name="api-show"),
    path("api/search", api.api_search, name="api-search"),
    path("api/openapi.json", api.api_openapi, name="api-openapi"),
    path("api-test", api.api_test, name="api-test"),
    path("healthz", api.healthz, name="healthz"),
    path("readyz", api.readyz, name="readyz"),
    path("favicon.ico", pages.favicon, name="favicon"),
    path("avatar", pages.avatar, name="avatar"),
    path("hooks/<str:server>/<str:token>", hooks.hook, name="hook"),
    # Any other address under /api/ is a JSON 404 with DEBUG on too (`make run`), where Django
    # would answer its HTML debug page rather than handler404. Not an endpoint: last, unlisted.
    re_path(r"^api/", errors.page_not_found, name=errors.API_NOT_FOUND),
]
