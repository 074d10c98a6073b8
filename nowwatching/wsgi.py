"""The WSGI application. A configuration error stops it with one message, not a traceback."""

from django.core.wsgi import get_wsgi_application

from nowwatching.startup import settings_or_exit

settings_or_exit()

# A server: its requests wait on the database a bounded time (nowwatching/databases/guard.py).
from nowwatching.databases import guard  # noqa: E402

guard.serving()
application = get_wsgi_application()

# Serving the site: keep the history mirror current in the background
# (profile/mirror/schedule.py).
# Management commands and tests never import this module, so they never start it.
from profile.mirror import schedule  # noqa: E402

schedule.start()
