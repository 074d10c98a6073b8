"""Trakt's latest rate-limit headroom (`X-Ratelimit`), written down for `trakt_status` in
another process: at most once a minute, off the caller's path."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.utils import timezone

from profile.client.schemas import RateLimitHeader
from profile.models import OneRow, TraktRateLimit

# The latest X-Ratelimit is written down at most this often (per process, and across processes
# that share the cache).
RATE_LIMIT_NOTE_SECONDS = 60
RATE_LIMIT_NOTED_KEY = "nowwatching:v1:trakt:rate-limit-noted"


_notes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trakt-notes")


_note_lock = threading.Lock()


_next_note = 0.0


def remember_rate_limit(sender, info: RateLimitHeader, **kwargs) -> None:
    """Keep Trakt's latest X-Ratelimit (at most once a minute), off the caller's path."""
    global _next_note
    if settings.DEMO_MODE:
        return
    with _note_lock:
        if time.monotonic() < _next_note:
            return
        _next_note = time.monotonic() + RATE_LIMIT_NOTE_SECONDS
    try:
        if not cache.add(RATE_LIMIT_NOTED_KEY, True, timeout=RATE_LIMIT_NOTE_SECONDS):
            return  # another process wrote it down this minute
    except Exception:  # noqa: BLE001 - a note must never break the call it came with
        return
    _notes.submit(_store_rate_limit, info, timezone.now())


def _store_rate_limit(info: RateLimitHeader, seen_at: datetime) -> None:
    until = None
    if info.until:
        until = datetime.fromisoformat(info.until).astimezone(UTC)
    try:
        TraktRateLimit.objects.update_or_create(
            pk=OneRow.ID,
            defaults={
                "name": info.name,
                "limit": info.limit,
                "remaining": info.remaining,
                "period": info.period,
                "until": until,
                "seen_at": seen_at,
            },
        )
    except DatabaseError:
        pass  # a busy or missing database costs this note, nothing else
    finally:
        connections.close_all()  # this thread's own connections only
