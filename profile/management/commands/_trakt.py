"""What the three Trakt sign-in commands share."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandError
from django.db import DatabaseError
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from nowwatching.databases import problem
from profile.models import TraktToken


def require_database() -> None:
    """A clear message, not a traceback, when the database has no table for the sign-in."""
    try:
        TraktToken.objects.exists()
    except DatabaseError as error:
        raise CommandError(problem(error)) from None


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """ "2026-12-01 10:00 UTC (in 6 days, 23 hours)", in TIME_ZONE."""
    if moment is None:
        return "never"
    now = now or timezone.now()
    local = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")
    if abs((moment - now).total_seconds()) < 60:
        relative = "just now"
    elif moment > now:
        relative = "in " + timeuntil(moment, now, depth=2)
    else:
        relative = timesince(moment, now, depth=2) + " ago"
    return f"{local} ({relative.replace(chr(0xA0), ' ')})"
