"""The ASGI application. A configuration error stops it with one message, not a traceback."""

from django.core.asgi import get_asgi_application

from nowwatching.startup import settings_or_exit

settings_or_exit()
application = get_asgi_application()
