"""What the media server says plays: one kept record, changed by each webhook's event.

The rules (`apply`, pure, so every order of events can be tested):

- play, resume and progress of the item that plays keep that play (its start, its lookups)
  and move its position; of another item, or with nothing playing, they start a new play;
- pause stops the position where the player says (a pause of another item starts it,
  paused: we missed its start);
- stop ends the play at once; it is remembered a while, so that an event of that item which
  was sent before the stop but arrives after it (out of order) cannot bring the play back,
  and Trakt's report of it cannot either (`answers.get_watching`);
- an event older than what the record knows (the body's own time, where the server sends
  one) changes nothing; the same event twice changes nothing but the position;
- a player that goes silent is forgotten after its runtime plus a margin (`deadline`), so
  a lost stop cannot pin the banner.

The record is kept in the shared cache (all workers, all machines) and, for a second at
most, in each process's memory: every request reads it. A change elsewhere is pushed to
every process (`push.py`), which then drops its copy (`forget_local`) at once.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.core.cache import cache, caches

from profile.client.trakt import iso
from profile.live.cache import KEY
from profile.live.resolve import Match, untitled
from profile.live.sources import PlayerEvent, PlayerItem
from profile.live.watching import NowWatching, Progress, now_watching

log = logging.getLogger(__name__)

PLAYER_KEY = KEY + "player"
LOCK_KEY = PLAYER_KEY + ":lock"
# Each process reads the shared record at most once a second (a change is pushed sooner).
LOCAL_SECONDS = 1.0
# A silent player is forgotten this long after its play should have ended.
SILENT_MARGIN = timedelta(minutes=10)
# When the player does not say how long the item is (and Trakt does not know).
DEFAULT_RUNTIME = {"movie": timedelta(hours=2), "episode": timedelta(hours=1)}
# After a stop, the item's other events are stale for this long unless the body says when
# it was sent (then its time decides): Plex sends none, and a late pause would revive it.
STOP_GRACE = timedelta(seconds=60)
# The record outlives a stop this long, for the rules above and Trakt's lagging report.
STOPPED_KEEP = timedelta(minutes=30)


@dataclass(frozen=True)
class Play:
    source: str
    item: PlayerItem
    paused: bool
    position: float  # seconds into the item at `at`
    at: datetime  # when the player last spoke (arrival: progress is reckoned from it)
    started_at: datetime  # when this play began here
    sent_at: datetime | None = None  # the last event's own time, if the server sends one
    runtime: int | None = None  # seconds, from Trakt, when the player does not say
    looked_up: Match | None = None  # Trakt's ids and links, TMDB's artwork (resolve.py)
    completed: bool = False  # the player counts it watched
    paused_since: datetime | None = None  # when it paused (a paused player repeats itself)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.item.key}"

    @property
    def duration(self) -> float:
        seconds = self.item.duration or self.runtime
        return seconds or DEFAULT_RUNTIME[self.item.type].total_seconds()

    @property
    def deadline(self) -> datetime:
        """When a silent player is forgotten: the play's end (a paused one's whole runtime
        from the pause) plus a margin."""
        left = self.duration if self.paused else max(0.0, self.duration - self.position)
        return self.at + timedelta(seconds=left) + SILENT_MARGIN

    def seen_share(self, now: datetime) -> float:
        """How much of it has played at `now` (0..1)."""
        position = self.position
        if not self.paused:
            position += (now - self.at).total_seconds()
        return min(1.0, max(0.0, position / self.duration))


@dataclass(frozen=True)
class Stopped:
    key: str
    at: datetime  # arrival of the stop
    sent_at: datetime | None
    watching: NowWatching  # what ended, to know Trakt's late report of it


@dataclass(frozen=True)
class Player:
    """The kept record: what plays (or None), and what stopped last."""

    play: Play | None = None
    stopped: Stopped | None = None

    def playing(self, now: datetime) -> Play | None:
        """The play, unless its player has gone silent past its deadline."""
        if self.play is not None and now <= self.play.deadline:
            return self.play
        return None


@dataclass(frozen=True)
class Change:
    """What an event did: started, paused, resumed, moved, stopped, or ignored (why)."""

    kind: str
    play: Play | None  # the play after the event (for stopped: the play that ended)
    reason: str = ""
    watched: bool = False  # stopped: seen to the end (WATCHED_SHARE) or the player says so
    again: bool = False  # started: the same item, stopped less than AGAIN ago (a hiccup)
    jumped: bool = False  # moved: the position is not where it was reckoned to be (a seek)

    @property
    def shows(self) -> bool:
        """Whether open pages need to hear of it (a position that only moved on does not)."""
        return self.kind not in ("ignored", "moved") or self.jumped


WATCHED_SHARE = 0.8  # Trakt's threshold: a play stopped past 80 % counts as watched
AGAIN = timedelta(seconds=60)
JUMP_SECONDS = 30


def apply(kept: Player | None, event: PlayerEvent) -> tuple[Player, Change]:
    """The record after `event`, and what changed."""
    kept = kept or Player()
    now = event.received_at
    key = f"{event.source}:{event.item.key}"
    current = kept.playing(now)
    if current is not None and current.key != key and event.action == "stop":
        return kept, Change("ignored", current, "a stop of something else")
    if _stale(kept, current, key, event):
        return kept, Change("ignored", current, "older than what is known")
    position = event.position
    if event.action == "stop":
        if current is None:
            return kept, Change("ignored", None, "nothing plays")
        ended = _moved(current, event, current.paused)
        watched = ended.completed or ended.seen_share(now) >= WATCHED_SHARE
        stopped = Stopped(key, now, event.sent_at, as_watching(ended))
        return Player(None, stopped), Change("stopped", ended, watched=watched)
    paused = event.action == "pause"
    if current is None or current.key != key:
        play = Play(
            source=event.source,
            item=event.item,
            paused=paused,
            position=max(0.0, position or 0.0),
            at=now,
            started_at=now,
            sent_at=event.sent_at,
            completed=event.completed,
            paused_since=now if paused else None,
        )
        stopped = kept.stopped
        again = stopped is not None and stopped.key == key and now - stopped.at < AGAIN
        return Player(play, _still_stopped(kept, now)), Change("started", play, again=again)
    play = _moved(current, event, paused)
    if paused and not current.paused:
        kind = "paused"
    elif current.paused and not paused:
        kind = "resumed"
    else:
        kind = "moved"
    jumped = abs(play.position - _reckoned(current, now)) > JUMP_SECONDS
    return Player(play, _still_stopped(kept, now)), Change(kind, play, jumped=jumped)


def _reckoned(play: Play, now: datetime) -> float:
    """Where the play should be at `now`, by its last event."""
    if play.paused:
        return play.position
    return play.position + (now - play.at).total_seconds()


def _moved(play: Play, event: PlayerEvent, paused: bool) -> Play:
    """The play at the event: the player's own position, else the one reckoned from the
    last (a player that was playing has moved on since)."""
    position = event.position
    if position is None:
        position = _reckoned(play, event.received_at)
    return replace(
        play,
        paused=paused,
        position=max(0.0, position),
        at=event.received_at,
        sent_at=event.sent_at or play.sent_at,
        completed=play.completed or event.completed,
        paused_since=(play.paused_since or event.received_at) if paused else None,
    )


def _stale(kept: Player, current: Play | None, key: str, event: PlayerEvent) -> bool:
    """Sent before what the record already knows: a repeat, or out of order."""
    sent = event.sent_at
    if current is not None and current.key == key and sent and current.sent_at:
        if sent < current.sent_at:
            return True
    stopped = kept.stopped
    if stopped is None or stopped.key != key:
        return False
    if current is not None and current.key == key and current.started_at > stopped.at:
        return False  # played again since the stop: the events are the new play's
    if sent is not None and stopped.sent_at is not None:
        return sent <= stopped.sent_at
    # Without the body's time: only a new play may follow a stop at once.
    return event.action != "play" and event.received_at - stopped.at < STOP_GRACE


def _still_stopped(kept: Player, now: datetime) -> Stopped | None:
    stopped = kept.stopped
    if stopped is not None and now - stopped.at < STOPPED_KEEP:
        return stopped
    return None


def as_watching(play: Play) -> NowWatching:
    """The play as the banner, the card and /api/watching show it: the player's position
    (standing still while paused), Trakt's names and TMDB's artwork once looked up."""
    cached = _shown
    if cached is not None and cached[0] is play:
        return cached[1]
    match = play.looked_up
    named = match.named if match is not None else untitled(play.item)
    started = play.at - timedelta(seconds=play.position)
    progress = Progress(
        started_at=iso(started),
        expires_at=iso(started + timedelta(seconds=play.duration)),
        paused_at=iso(play.at) if play.paused else None,
    )
    images = match.images if match is not None else {}
    watching = now_watching(named, progress, images, source=play.source, play_key=play.key)
    _remember_shown(play, watching)
    return watching


# The last play shown and its value: every request of a second reads the same kept play.
_shown: tuple[Play, NowWatching] | None = None


def _remember_shown(play: Play, watching: NowWatching) -> None:
    global _shown
    _shown = (play, watching)  # one slot, replaced whole (atomic under the GIL)


# --- The kept record ------------------------------------------------------------------------------


def current() -> Player:
    """The record as kept: this process's copy while under a second old, else the shared."""
    local = caches["local"].get(PLAYER_KEY)
    if local is not None:
        return local
    kept = cache.get(PLAYER_KEY) or Player()
    caches["local"].set(PLAYER_KEY, kept, timeout=LOCAL_SECONDS)
    return kept


def shared() -> Player:
    """The shared record, read now (not this process's copy)."""
    return cache.get(PLAYER_KEY) or Player()


def forget_local() -> None:
    """Another process changed the record: read it afresh."""
    caches["local"].delete(PLAYER_KEY)


def record(event: PlayerEvent) -> Change:
    """Apply `event` to the shared record (one writer at a time across processes)."""
    with _locked():
        kept = cache.get(PLAYER_KEY)
        player, change = apply(kept, event)
        if change.kind != "ignored":
            _store(player, event.received_at)
    return change


def update(key: str, **changes) -> Play | None:
    """Change the play now kept if it is still `key`'s (a lookup landed): its new value."""
    with _locked():
        kept: Player | None = cache.get(PLAYER_KEY)
        if kept is None or kept.play is None or kept.play.key != key:
            return None
        play = replace(kept.play, **changes)
        _store(replace(kept, play=play), play.at)
    return play


def _store(player: Player, now: datetime) -> None:
    ends = [player.play.deadline] if player.play else []
    if player.stopped is not None:
        ends.append(player.stopped.at + STOPPED_KEEP)
    keep = max(((end - now).total_seconds() for end in ends), default=0)
    if keep <= 0:
        cache.delete(PLAYER_KEY)
        forget_local()
        return
    cache.set(PLAYER_KEY, player, timeout=keep)
    caches["local"].set(PLAYER_KEY, player, timeout=LOCAL_SECONDS)


class _locked:
    """The shared record's lock: short (a read and a write), waited for at most a second;
    past that the writer goes ahead (a lost update costs one event, never a stuck hook)."""

    def __enter__(self):
        self.token = uuid.uuid4().hex
        deadline = time.monotonic() + 1.0
        while not cache.add(LOCK_KEY, self.token, timeout=5):
            if time.monotonic() > deadline:
                log.warning("player record: its lock was busy for a second; writing anyway")
                self.token = None
                break
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        if self.token is not None and cache.get(LOCK_KEY) == self.token:
            cache.delete(LOCK_KEY)
