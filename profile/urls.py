from django.urls import path, re_path

from profile import errors
from profile.api import hooks
from profile.api import views as api
from profile.pages import views as pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("live", pages.live, name="live"),
    path("live/stream", pages.live_stream, name="live-stream"),
    path("year/<int:yyyy>", pages.year_in_review, name="year"),
    path("api/watching", api.api_watching, name="api-watching"),
    path("api/watching.svg", api.watching_svg, name="api-watching-svg"),
    path("api/profile", api.api_profile, name="api-profile"),
    path("api/stats", api.api_stats, name="api-stats"),
    path("api/history", api.api_history, name="api-history"),
    path("api/activity", api.api_activity, name="api-activity"),
    path("api/year/<int:yyyy>", api.api_year, name="api-year"),
    path("api/openapi.json", api.api_openapi, name="api-openapi"),
    path("api-test", api.api_test, name="api-test"),
    path("healthz", api.healthz, name="healthz"),
    path("readyz", api.readyz, name="readyz"),
    path("favicon.ico", pages.favicon, name="favicon"),
    path("hooks/<str:server>/<str:token>", hooks.hook, name="hook"),
    # Any other address under /api/ is a JSON 404 with DEBUG on too (`make run`), where Django
    # would answer its HTML debug page rather than handler404. Not an endpoint: last, unlisted.
    re_path(r"^api/", errors.page_not_found, name=errors.API_NOT_FOUND),
]
