"""Webhooks in: POST /hooks/{plex,jellyfin,emby}/<token> (the view is api/hooks.py).

None of the servers signs its requests, so the secret is the token in the address
(WEBHOOK_TOKEN), compared in constant time; a wrong one (or none set) is the site's plain 404.
Each server gets its own rate limit. A body is parsed into one typed event
(`sources/`), only the owner's plays count (MEDIA_SERVER_USER), and the event changes the
player's record (`player.py`) at once: /api/watching, the card and /live show it from the
next request on. Everything that may call Trakt or TMDB (the title's lookup, the
notifications' poster) and the push to open pages happen after the answer, in this
process's background thread.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from profile.live import ended, notify, player, push, resolve
from profile.live.cache import KEY
from profile.live.sources import SOURCES, Ignored, parse
from profile.mirror.schedule import note_watching

log = logging.getLogger(__name__)

# Per server: at most this many requests in each window (Jellyfin's plugin reports
# progress every few seconds per session; Plex only state changes).
RATE_WINDOW_SECONDS = 10
RATE_LIMIT = 30
# Plex's multipart body carries a thumbnail (not kept); the JSON bodies are a few KB.
MAX_BODY_BYTES = {"plex": 2_000_000, "jellyfin": 256_000, "emby": 2_000_000}


def exists(source: str, token: str) -> bool:
    """Whether /hooks/<source>/<token> is a webhook: a known server and the right token."""
    expected = settings.WEBHOOK_TOKEN
    if not expected or source not in SOURCES:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def wait_seconds(source: str) -> int | None:
    """None while `source` is within its rate limit (this request counted), else how long
    to wait for the next window."""
    now = time.time()
    window = math.floor(now / RATE_WINDOW_SECONDS)
    key = f"{KEY}hooks:rate:{source}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.set(key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        count = 1
    if count <= RATE_LIMIT:
        return None
    return max(1, math.ceil((window + 1) * RATE_WINDOW_SECONDS - now))


@dataclass(frozen=True)
class Outcome:
    """What a webhook did: accepted (it changed what plays), or not, and why."""

    accepted: bool
    note: str

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "note": self.note}


def receive(source: str, body: bytes) -> Outcome:
    """One webhook body of `source`. Raises BadPayload for a body that is not the
    server's (a 400)."""
    event = parse(source, body, datetime.now(UTC))
    if isinstance(event, Ignored):
        return Outcome(False, event.reason)
    if not event.is_from(settings.MEDIA_SERVER_USER):
        return Outcome(False, "another user's play")
    change = player.record(event)
    if change.kind == "ignored":
        return Outcome(False, change.reason)
    if change.kind == "stopped" and change.watched:
        ended.remember(player.as_watching(change.play), event.received_at)
    if change.kind in ("started", "stopped"):
        # The history job syncs soon after (what ended shows up in the mirror).
        note_watching(f"{change.kind}:{change.play.key}:{change.play.started_at.isoformat()}")
    _after_the_answer(change)
    return Outcome(True, change.kind)


# --- After the answer -----------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _after_the_answer(change: player.Change) -> None:
    global _pool
    with _pool_lock:
        if _pool is None:
            # One thread: a server's events are followed up in the order they came.
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hooks")
        _pool.submit(_follow_up, change)


def _follow_up(change: player.Change) -> None:
    try:
        play = change.play  # as the event left it (the record may have moved on since)
        if change.kind != "stopped" and play is not None and play.looked_up is None:
            known = resolve.kept(play.item)
            if known is None:
                push.changed()  # the title at once; its artwork and links once looked up
                known = resolve.look_up(play.item)
            runtime = known.named.runtime * 60 if known.named.runtime else None
            player.update(play.key, looked_up=known, runtime=runtime)
            play = replace(play, looked_up=known, runtime=runtime)
        if change.shows:
            push.changed()
        notify.played(change, play)
    except Exception:  # the thread outlives any one event
        log.exception("following up a webhook failed")
    finally:
        connections.close_all()  # this thread's, if a lookup read the sign-in


def wait_for_follow_ups(timeout: float = 10) -> bool:
    """Until the follow-ups submitted so far have run (for tests)."""
    with _pool_lock:
        pool = _pool
    if pool is None:
        return True
    return pool.submit(lambda: None).result(timeout=timeout) is None
