"""Every change of what the page shows, pushed to the open pages: rendered once, sent to all.

A change (a webhook's event, a Trakt refresh that changed what plays, a friend who started
watching) calls `changed()`. This process's push thread then renders the page's live parts
once, exactly as /live answers them (the renderer is /live's own, `pages.views.live_body`,
installed by the app at start-up: `render_with`), and publishes them as one `LiveEvent`:

- on Redis's pub/sub (the shared cache's Redis), which every worker of every machine
  subscribes to (`stream.py`) and relays to its open pages (server-sent events);
- without Redis (or while it cannot be reached), to this process's own pages only, whose
  script keeps polling /live besides, so nothing is lost for long.

The latest event is also kept in the shared cache, for a page that reconnects with the id
of the last one it saw (`Last-Event-ID`), and for a worker that starts.

Changes that come quickly one after another are rendered once: the thread renders what is
true when it gets to it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.db import connections

from nowwatching.cache_backend import FallbackRedisCache, shared_cache_down
from profile.live import player
from profile.live.cache import KEY

log = logging.getLogger(__name__)

CHANNEL = "nowwatching:v1:live"
LATEST_KEY = KEY + "live:latest"
LATEST_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class LiveEvent:
    id: str
    data: str  # /live's body, as JSON text (one line: JSON escapes line breaks)

    def encode(self) -> bytes:
        return json.dumps({"id": self.id, "data": self.data}).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> LiveEvent:
        """From Redis; ValueError for anything else."""
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise ValueError("not a live event")
        event_id, data = message.get("id"), message.get("data")
        if not (isinstance(event_id, str) and isinstance(data, str)) or len(event_id) > 64:
            raise ValueError("not a live event")
        return cls(event_id, data)


def new_id() -> str:
    """Unique across processes and machines, and growing with time (hex nanoseconds)."""
    return f"{time.time_ns():x}"


def newer(event: LiveEvent, than: str) -> bool:
    """Whether `event` was rendered after the event whose id is `than` ("": none). Ids are
    hex nanoseconds: compared as numbers. A page must never be taken back to an older state:
    by a slower worker's render relayed late, or replayed when it reconnects to a worker
    that has not relayed the newest yet."""
    if not than:
        return True
    try:
        return int(event.id, 16) > int(than, 16)
    except ValueError:  # an id of another shape: only what the page has is held back
        return event.id != than


# --- Where events go ------------------------------------------------------------------------------

_renderer: Callable[[], dict] | None = None
_listeners: list[Callable[[LiveEvent], None]] = []
_listeners_lock = threading.Lock()


def render_with(renderer: Callable[[], dict]) -> None:
    """The page's live parts as /live answers them (installed by profile/apps.py)."""
    global _renderer
    _renderer = renderer


def listen(callback: Callable[[LiveEvent], None]) -> None:
    """`callback(event)` for each event this process must relay itself (its stream hub)."""
    with _listeners_lock:
        _listeners.append(callback)


def unlisten(callback: Callable[[LiveEvent], None]) -> None:
    with _listeners_lock:
        if callback in _listeners:
            _listeners.remove(callback)


def pubsub_url() -> str | None:
    """The shared cache's Redis, for the pub/sub; None when the cache is not Redis."""
    shared = caches["default"]
    return shared.location if isinstance(shared, FallbackRedisCache) else None


def pubsub_down() -> bool:
    """This process cannot reach the shared Redis now (its breaker is open)."""
    return shared_cache_down()


def latest() -> LiveEvent | None:
    return cache.get(LATEST_KEY)


# The id of the latest event this process's stream hub relayed: what a page rendered now has
# seen (its `?since=`). Empty without a hub (Django's own server: no stream to ask).
_relayed_id = ""


def relayed(event: LiveEvent | None) -> None:
    """The hub relayed `event` (or found it the latest when it started)."""
    global _relayed_id
    if event is not None:
        _relayed_id = event.id  # one str, replaced whole (atomic under the GIL)


def latest_id() -> str:
    """The latest event's id as this process knows it, without a round trip (every page
    view asks)."""
    return _relayed_id


def publish(event: LiveEvent) -> None:
    cache.set(LATEST_KEY, event, timeout=LATEST_SECONDS)
    shared = caches["default"]
    if isinstance(shared, FallbackRedisCache) and shared.publish(CHANNEL, event.encode()):
        return  # every worker's subscriber relays it, this one's too
    tell_this_process(event)


def tell_this_process(event: LiveEvent) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event)


# --- The push thread ------------------------------------------------------------------------------


class _Pusher:
    def __init__(self):
        self._wake = threading.Condition()
        self._dirty = False
        self._busy = False
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        with self._wake:
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="push", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._dirty:
                    self._wake.wait()
                self._dirty = False
                self._busy = True
            try:
                render = _renderer
                if render is not None:
                    # The id first, then the shared record read afresh (not this process's
                    # second-old copy): a render never shows an older state than its id says,
                    # and the hubs drop an event older than one they relayed (stream.py), so
                    # a slow render from one worker cannot undo a newer one from another.
                    event_id = new_id()
                    player.forget_local()
                    publish(LiveEvent(event_id, json.dumps(render(), separators=(",", ":"))))
            except Exception:  # the thread outlives any one render
                log.exception("pushing the page's live parts failed")
            finally:
                connections.close_all()  # this thread's, if the render opened one
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def wait(self, timeout: float) -> bool:
        """Until no push is due or under way (tests). True if so in time."""
        with self._wake:
            return self._wake.wait_for(lambda: not (self._dirty or self._busy), timeout)

    def after_fork(self) -> None:
        self.__init__()


_pusher = _Pusher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pusher.after_fork)


def changed() -> None:
    """What the page shows has changed: push it to the open pages (in the background)."""
    if _renderer is not None:
        _pusher.poke()


def wait_for_pushes(timeout: float = 10) -> bool:
    """Wait until the pushes due have been rendered and published (for tests)."""
    return _pusher.wait(timeout)
