"""An unknown Host, said once: a request for a host name not in ALLOWED_HOSTS is answered 400
(Django's DisallowedHost), and this filter turns Django's error record (with a traceback) into
one line that names the host and the setting to change.

A site deployed on its owner's domain without ALLOWED_HOSTS would otherwise answer every
visitor 400 with nothing in the log; scanners, meanwhile, send random Host headers all day.
So each host is logged at most once an hour, and a few hosts a minute at most (per process):
the owner sees their domain named, a scanner cannot flood the log.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

HOST_EVERY_SECONDS = 3600  # a host named again at most this often
LINES_PER_MINUTE = 5  # hosts named per minute at most, whatever a scanner sends
REMEMBERED = 1000  # hosts remembered at most (the oldest are forgotten first)
MAX_SHOWN = 100  # characters of a host shown

_lock = threading.Lock()
_logged: dict[str, float] = {}  # host -> when it was last named
_minute: list[float] = []  # when the lines of the last minute were written


def forget() -> None:
    """Start afresh (tests)."""
    with _lock:
        _logged.clear()
        _minute.clear()


def _shown(host: str) -> str:
    printable = "".join(c if c.isprintable() else "?" for c in host[:MAX_SHOWN])
    return repr(printable + ("…" if len(host) > MAX_SHOWN else ""))


def _due(host: str, now: float) -> bool:
    with _lock:
        if now - _logged.get(host, -HOST_EVERY_SECONDS) < HOST_EVERY_SECONDS:
            return False
        _minute[:] = [at for at in _minute if now - at < 60]
        if len(_minute) >= LINES_PER_MINUTE:
            return False
        _minute.append(now)
        _logged.pop(host, None)
        _logged[host] = now
        while len(_logged) > REMEMBERED:
            del _logged[next(iter(_logged))]
        return True


class OncePerHost(logging.Filter):
    """On the django.security.DisallowedHost logger: one WARNING line per unknown host and
    hour, without a traceback; every other record of it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        host = request.META.get("HTTP_HOST", "") if request is not None else ""
        if not _due(host, time.time()):
            return False
        record.msg = (
            "Refused a request for the host %s (answered 400): it is not in ALLOWED_HOSTS (%s). "
            "If this site should answer to it, add it to ALLOWED_HOSTS."
        )
        record.args = (_shown(host), ", ".join(settings.ALLOWED_HOSTS))
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True
