"""Error answers: HTML pages in the site's look, JSON under /api/.

Django calls these for 400, 403 (also CSRF failures), 404 and 500 when DEBUG is off; none
of them shows a traceback, a setting or the request's details. They never call
request.get_host(): a 400 is often the answer to a Host that is not allowed.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.template import loader

from profile.context_processors import site

log = logging.getLogger(__name__)

# code, message: the same wording on the page and in the JSON.
ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    500: ("server_error", "Something went wrong on our side. Please try again later."),
}
API_PREFIX = "/api/"
# The URL name of the catch-all under /api/ (profile/urls.py): not an endpoint.
API_NOT_FOUND = "api-not-found"
# Our own refusals that are not one of the error pages above: code, status. Two are the
# webhooks' (/hooks/...), one is /readyz's.
API_ERRORS = {
    "method_not_allowed": 405,
    "history_unavailable": 503,
    "payload_too_large": 413,
    "too_many_requests": 429,
    "not_ready": 503,
}


def _answer(request, status: int) -> HttpResponse:
    code, message = ERRORS[status]
    if request.path_info.startswith(API_PREFIX):
        body = {"error": {"code": code, "message": message}}
        if request.path_info.rstrip("/") == "/api/watching":
            body = {"isWatching": False} | body  # its errors always say isWatching
        return JsonResponse(body, status=status)
    # Only the frame's own plain values, not every context processor: an error page must
    # not depend on whatever else failed.
    context = site(request) | {"message": message}
    html = loader.get_template(f"{status}.html").render(context)
    return HttpResponse(html, status=status)


def bad_request(request, exception=None):
    return _answer(request, 400)


def permission_denied(request, exception=None):
    return _answer(request, 403)


def csrf_failure(request, reason=""):
    return _answer(request, 403)


def page_not_found(request, exception=None):
    return _answer(request, 404)


def server_error(request):
    try:
        return _answer(request, 500)
    except Exception:
        # The page itself failed (a missing static manifest, say): still no traceback.
        log.exception("the 500 page could not be rendered")
        return HttpResponse(ERRORS[500][1], status=500, content_type="text/plain; charset=utf-8")
