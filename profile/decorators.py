"""The decorators every view stands under: which methods, and how refusals read."""

from functools import wraps

from django.core.exceptions import TooManyFieldsSent
from django.http import JsonResponse, QueryDict
from django.utils.cache import get_conditional_response
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from nowwatching.etags import set_etag
from profile.errors import API_ERRORS

ALLOWED_METHODS = ("GET", "HEAD")


def html_page(view):
    """GET and HEAD only. Any other method is a 405: the pages take no input, so there is
    nothing for CSRF protection to guard, and its 403 would misname the refusal."""
    return csrf_exempt(require_safe(view))


def json_endpoint(error_fields=None):
    """GET and HEAD only, answered with a JSON 405 otherwise; no CSRF (nothing is written).

    csrf_exempt sits outside the method check, or Django's CSRF check would answer 403 to
    unsafe methods before we could say 405. `error_fields` keeps each endpoint's error
    body in its own shape (/api/watching always says isWatching).
    """

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in ALLOWED_METHODS:
                code = "method_not_allowed"
                body = dict(error_fields or {})
                body["error"] = {
                    "code": code,
                    "message": f"{request.method} is not allowed here; use GET or HEAD.",
                }
                response = JsonResponse(body, status=API_ERRORS[code])
                response["Allow"] = ", ".join(ALLOWED_METHODS)
                return response
            response = view(request, *args, **kwargs)
            if request.method == "HEAD" and response.status_code == 200:
                # ConditionalGetMiddleware skips HEAD; a HEAD must carry GET's ETag (and 304).
                if not response.has_header("ETag"):
                    set_etag(response)
                # An empty body has no ETag (as for GET): nothing to compare then.
                return get_conditional_response(
                    request, etag=response.get("ETag"), response=response
                )
            return response

        return wrapper

    return decorate


def query_options(request) -> QueryDict:
    """The query string's options, or none at all when it is hostile (thousands of fields):
    options only ever choose among defaults, so they never turn a request into an error."""
    try:
        return request.GET
    except TooManyFieldsSent:
        return QueryDict()
