"""The WSGI application. A configuration error stops it with one message, not a traceback."""

from django.core.wsgi import get_wsgi_application

from nowwatching.startup import settings_or_exit

settings_or_exit()

# A server: its requests wait on the database a bounded time (nowwatching/databases/guard.py).
from nowwatching.databases import guard  # noqa: E402

guard.serving()
application = get_wsgi_application()

# Serving the site: keep the history mirror current in the background
# (profile/mirror/schedule.py), and ask what friends watch (profile/live/friends.py).
# Management commands and tests never import this module, so they never start them.
from profile.live import friends  # noqa: E402
from profile.mirror import schedule  # noqa: E402

schedule.start()
friends.start()
