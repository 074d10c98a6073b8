"""Start-up: the settings are loaded, and so checked, before any command or server runs, and a
configuration error is one message on stderr (what is wrong, what to set, an example), never
a traceback.

manage.py, wsgi.py and asgi.py call `settings_or_exit()` first; under gunicorn,
`gunicorn.conf.py` calls it once in the master, before any worker starts.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

# gunicorn's "App failed to load": a worker exiting with it stops the master instead of
# being restarted for ever.
EXIT_STATUS = 4


def config_error(problem: str, fix: str, example: str) -> ImproperlyConfigured:
    """A start-up error in three parts, e.g. ("TRAKT_USERNAME is not set.", "Set TRAKT_USERNAME
    to ...", "TRAKT_USERNAME=sean"). Never put a secret's value in any of them."""
    return ImproperlyConfigured(f"{problem}\n{fix}, for example:\n    {example}")


def settings_or_exit() -> None:
    """Load the settings; on a configuration error, print it and exit."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowwatching.settings")
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (imports the settings module, which checks itself)
    except ImproperlyConfigured as error:
        print(f"nowwatching cannot start: {error}", file=sys.stderr, flush=True)
        sys.exit(EXIT_STATUS)
