"""The site as served by `make serve`: gunicorn's asgi worker (nowwatching/gunicorn.conf.py).

The event loop reads every request (headers and all) before a thread is involved, so slow or
idle clients cost a socket each, never a worker: dozens of connections dripping their headers
do not delay anyone else. Django then runs as the WSGI application it is, in a fixed pool of
threads per worker (a2wsgi), rather than through Django's own ASGI handler, which runs each
request's sync views in a new thread of its own and costs about four times as much per request
(README, "Deploying"). Every view here is synchronous.

Each pool thread keeps its own database connection between requests (closed at the end of
each request unless CONN_MAX_AGE says otherwise), as under a threaded WSGI server. A
configuration error stops it with one message, not a traceback (nowwatching/startup.py).

One address is served natively on the event loop, in front of Django: the page's live
stream (GET /live/stream, server-sent events: profile/live/stream.py). An open stream waits
for most of its life, so it must cost a socket, not one of the four threads; the worker's
lifespan starts and stops its hub (the Redis subscription).
"""

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

from nowwatching.startup import settings_or_exit

settings_or_exit()

# A server: its requests wait on the database a bounded time (nowwatching/databases/guard.py).
from nowwatching.databases import guard  # noqa: E402

guard.serving()

# Requests of one worker that run Django at the same time; the others wait their turn on the
# event loop, first come first served. Views never wait on Trakt once its answers are kept
# (profile/live/cache.py refreshes them in the background), so a few threads keep the core busy;
# more would only take turns at the GIL (with the event loop too) and stretch every answer.
# Four leave room for the rare caller of a cold cache, who may wait on Trakt.
THREADS = 4


def without_body_for_head(app):
    """A HEAD answer carries GET's headers and no body (RFC 9110): the server would drop the
    body anyway, with a warning per request."""

    def wsgi(environ, start_response):
        result = app(environ, start_response)
        if environ["REQUEST_METHOD"] != "HEAD":
            return result
        if hasattr(result, "close"):
            result.close()  # ends the request (Django's request_finished)
        return []

    return wsgi


django_application = WSGIMiddleware(without_body_for_head(get_wsgi_application()), workers=THREADS)

# After Django is set up (the stream reads its settings and caches).
from profile.live import stream  # noqa: E402


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == stream.STREAM_PATH:
        return await stream.serve(scope, receive, send)
    if scope["type"] == "lifespan":
        return await stream.lifespan(receive, send)
    return await django_application(scope, receive, send)


def on_stop() -> None:
    """The worker is asked to stop (SIGTERM, nowwatching/gunicorn.conf.py): end the open
    streams now, so it need not wait for them (the pages reconnect to another worker)."""
    stream.HUB.close_all()


# Serving the site: keep the history mirror current in the background
# (profile/mirror/schedule.py), and ask what friends watch (profile/live/friends.py).
# Management commands and tests never import this module, so they never start them.
from profile.live import friends  # noqa: E402
from profile.mirror import schedule  # noqa: E402

schedule.start()
friends.start()
