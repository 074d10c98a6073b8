"""gunicorn's settings for `make serve`, the tests that start the site and `make bench`:
one set-up everywhere. Options on the command line override these (--bind, --workers).

    .venv/bin/gunicorn -c nowwatching/gunicorn.conf.py

Why the asgi worker: nowwatching/asgi.py and README, "Deploying". A configuration error is
printed once, by the master, before any worker starts (`on_starting`): without it each
worker would print it, and gunicorn its own lines about each.
"""

import signal
import sys

from nowwatching.startup import settings_or_exit

wsgi_app = "nowwatching.asgi:application"
worker_class = "asgi"
# uvloop (a dependency): 5-10 % less CPU per request than asyncio's own loop, measured.
asgi_loop = "uvloop"
workers = 2
bind = "127.0.0.1:8000"
# No control socket in ~/.gunicorn (gunicorn 25+ opens one by default).
control_socket_disable = True
# Idle kept-alive connections are closed after this long; each costs only a socket meanwhile.
keepalive = 5
# A search of 500 characters (all /search and /api/search read) is up to 6,000 bytes of
# address once percent-encoded: gunicorn's default request line (4 KB) would refuse it.
limit_request_line = 8190


def on_starting(server):
    settings_or_exit()


def post_worker_init(worker):
    """A graceful stop (SIGTERM) also ends the live streams at once: an open stream would
    otherwise hold the worker for the whole graceful timeout (nowwatching/asgi.py)."""
    loop = getattr(worker, "loop", None)
    app = sys.modules.get("nowwatching.asgi")
    if loop is None or app is None:
        return  # another worker class or application (bench/servers.py compares some)

    def stop():
        worker.handle_exit_signal()
        app.on_stop()

    loop.add_signal_handler(signal.SIGTERM, stop)
