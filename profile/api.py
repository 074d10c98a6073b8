"""The JSON API: every endpoint answers GET and HEAD, with one error shape."""

from functools import wraps
from profile import services

from django.http import JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.views.decorators.csrf import csrf_exempt

ALLOWED_METHODS = ("GET", "HEAD")


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
                body = dict(error_fields or {})
                body["error"] = {
                    "code": "method_not_allowed",
                    "message": f"{request.method} is not allowed here; use GET or HEAD.",
                }
                response = JsonResponse(body, status=405)
                response["Allow"] = ", ".join(ALLOWED_METHODS)
                return response
            response = view(request, *args, **kwargs)
            if request.method == "HEAD" and response.status_code == 200:
                # ConditionalGetMiddleware skips HEAD; a HEAD must carry GET's ETag (and 304).
                set_response_etag(response)
                return get_conditional_response(request, etag=response["ETag"], response=response)
            return response

        return wrapper

    return decorate


@json_endpoint(error_fields={"isWatching": False})
def api_watching(request):
    answer = services.get_watching()
    response = JsonResponse(answer.as_json(), status=answer.http_status)
    if answer.error is not None and answer.error.retry_after is not None:
        response["Retry-After"] = str(answer.error.retry_after)
    if answer.stale:
        response["Age"] = str(answer.age)
    # Clients may keep it but must revalidate (ETag, 304) before each reuse.
    patch_cache_control(response, no_cache=True)
    return response


@json_endpoint()
def healthz(request):
    """Liveness only: never touches Trakt or TMDB."""
    return JsonResponse({"status": "ok"})
