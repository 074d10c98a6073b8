"""The WSGI application. A configuration error stops it with one message, not a traceback."""

from django.core.wsgi import get_wsgi_application

from nowwatching.startup import settings_or_exit

settings_or_exit()
application = get_wsgi_application()
