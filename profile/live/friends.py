"""Friends watching now (FRIENDS=off|all|slugs): who of the people the owner follows on Trakt
is watching what, in a strip under the banner, and "watching with @sam" when a friend plays
the same title within ten minutes of the owner.

Trakt has no push, so each friend's /users/{id}/watching is asked in turn. All of them share
one budget, whatever their number: BUDGET_CALLS per BUDGET_SECONDS (10 % of Trakt's 500 calls
per 5 minutes), one call per SLOT_SECONDS, the least recently asked friend first; the list of
whom the owner follows (FRIENDS=all) is read again every FOLLOWING_SECONDS out of the same
budget. Each web process runs a small thread (`start()`, from nowwatching/asgi.py and
wsgi.py) that tries to take each slot; the shared cache's atomic `add` lets one process of all
that share it have it, so the budget holds across workers and machines. A private or
vanished friend is skipped quietly for SKIP_SECONDS; a friend who starts watching is pushed to
open pages (and, with NOTIFY_EVENTS=friends, told about).

Nothing here runs in a request: the pages read what the thread keeps (`watching_now`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from profile.client import UpstreamError, trakt
from profile.live import notify, push
from profile.live.cache import KEY
from profile.live.watching import NowWatching, from_trakt
from profile.signin.credentials import credentials

log = logging.getLogger(__name__)

BUDGET_CALLS = 50
BUDGET_SECONDS = 300
SLOT_SECONDS = BUDGET_SECONDS / BUDGET_CALLS  # 6 s
FOLLOWING_SECONDS = 60 * 60
SKIP_SECONDS = 24 * 60 * 60
TOGETHER = timedelta(minutes=10)  # "watching with": started within this of the owner
STATE_KEY = KEY + "friends"
SLOT_KEY = KEY + "friends:slot:"


@dataclass(frozen=True)
class FriendPlay:
    slug: str
    watching: NowWatching
    seen_at: float  # when it was last reported


@dataclass(frozen=True)
class Friends:
    """What the friends' thread keeps (one writer at a time: the slot's holder)."""

    following: tuple[str, ...] = ()
    following_at: float = 0.0  # when the list was last read (FRIENDS=all)
    asked: dict[str, float] = field(default_factory=dict)  # slug: when last asked
    skipped: dict[str, float] = field(default_factory=dict)  # slug: until when
    playing: dict[str, FriendPlay] = field(default_factory=dict)


def kept() -> Friends:
    return cache.get(STATE_KEY) or Friends()


def watching_now(now: datetime) -> list[FriendPlay]:
    """The friends watching now, as last asked (a play past its end is over), by slug."""
    if settings.FRIENDS == "off":
        return []
    plays = kept().playing.values()
    return sorted(
        (play for play in plays if play.watching.progress.expires > now), key=lambda p: p.slug
    )


def together(owner: NowWatching | None, friends: list[FriendPlay]) -> list[str]:
    """The slugs of friends who play what the owner plays, begun within TOGETHER of them."""
    if owner is None:
        return []
    return [
        play.slug
        for play in friends
        if play.watching.same_title(owner)
        and abs(play.watching.progress.started - owner.progress.started) <= TOGETHER
    ]


# --- One slot of the budget -----------------------------------------------------------------------


def tick(now: float | None = None) -> str | None:
    """Take this slot of the budget if no process has, and spend it on one call: the list
    of whom the owner follows when due, else the least recently asked friend. What was
    done ("following", "friend:<slug>"), or None when the slot was someone else's."""
    now = time.time() if now is None else now
    slot = int(now // SLOT_SECONDS)
    if not cache.add(f"{SLOT_KEY}{slot}", 1, timeout=int(SLOT_SECONDS * 4)):
        return None
    state = kept()
    try:
        if settings.FRIENDS == "all" and now - state.following_at >= FOLLOWING_SECONDS:
            state = _read_following(state, now)
            return "following"
        slug = _next(state, now)
        if slug is None:
            return None
        state = _ask(state, slug, now)
        return f"friend:{slug}"
    finally:
        cache.set(STATE_KEY, state, timeout=None)


def _read_following(state: Friends, now: float) -> Friends:
    used = credentials()
    try:
        people = trakt.following(used.auth, used.user)
    except UpstreamError:
        return replace(state, following_at=now)  # logged by the client; tried next hour
    slugs = tuple(person.ids.slug for person in people if not person.deleted)
    # Friends no longer followed drop out of the strip and the queue.
    asked = {slug: when for slug, when in state.asked.items() if slug in slugs}
    playing = {slug: play for slug, play in state.playing.items() if slug in slugs}
    return replace(state, following=slugs, following_at=now, asked=asked, playing=playing)


def _candidates(state: Friends) -> tuple[str, ...]:
    return state.following if settings.FRIENDS == "all" else tuple(settings.FRIENDS)


def _next(state: Friends, now: float) -> str | None:
    """The least recently asked friend who is not being skipped."""
    ready = [slug for slug in _candidates(state) if state.skipped.get(slug, 0) <= now]
    return min(ready, key=lambda slug: state.asked.get(slug, 0.0), default=None)


def _ask(state: Friends, slug: str, now: float) -> Friends:
    asked = state.asked | {slug: now}
    playing = dict(state.playing)
    try:
        body = trakt.watching(credentials().auth, slug, friend=True)
    except UpstreamError as error:
        if error.code in ("private_profile", "unauthorized", "not_found"):
            # Private (to us) or gone: quietly, for a day.
            playing.pop(slug, None)
            skipped = state.skipped | {slug: now + SKIP_SECONDS}
            return replace(state, asked=asked, playing=playing, skipped=skipped)
        return replace(state, asked=asked)  # logged by the client; asked again in turn
    before = playing.pop(slug, None)
    if body is not None:
        shown = from_trakt(body, {})
        playing[slug] = FriendPlay(slug, shown, now)
        if before is None or before.watching.play != shown.play:
            push.changed()
            notify.friend_started(slug, shown)
    elif before is not None:
        push.changed()
    return replace(state, asked=asked, playing=playing)


# --- The thread -----------------------------------------------------------------------------------


class FriendsJob(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="friends", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            # Just after the next slot begins (processes started together spread a little).
            wait = SLOT_SECONDS - time.time() % SLOT_SECONDS + random.uniform(0.05, 0.5)
            if self.stopping.wait(wait):
                return
            try:
                tick()
            except Exception as error:  # the thread must outlive any surprise
                log.error("friends: unexpected %s", type(error).__name__)
            finally:
                connections.close_all()  # this thread's (the sign-in is read from the database)

    def stop(self) -> None:
        self.stopping.set()


_job: FriendsJob | None = None
_lock = threading.Lock()


def start() -> FriendsJob | None:
    """Start this process's friends thread once (FRIENDS not off)."""
    global _job
    if settings.FRIENDS == "off":
        return None
    with _lock:
        if _job is None or not _job.is_alive():
            _job = FriendsJob()
            _job.start()
    return _job
