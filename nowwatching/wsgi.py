import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowwatching.settings")
application = get_wsgi_application()

# Serving the site: keep the history mirror current in the background (profile/jobs.py).
# Management commands and tests never import this module, so they never start it.
from profile import jobs  # noqa: E402

jobs.start()
