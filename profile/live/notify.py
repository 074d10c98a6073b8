"""Word sent out through Apprise (NOTIFY_URLS, NOTIFY_EVENTS): when a play starts, when it ends,
optionally when it is paused, and when a friend starts watching (friends.py).

Sent from this process's notification thread, never in a request: each target is tried up to
TRIES times, BACKOFF_SECONDS apart, without holding up the other targets or messages. A
target that keeps failing is logged once (by its number in NOTIFY_URLS and its service,
never its URL, which holds its secret), and once more when it works again; Apprise's own
logger, which names URLs, is silenced (settings.LOGGING).

Debounced by what the player's record says when a message falls due, so it holds across
workers and machines (the webhooks of one play may reach several): a pause is said only if
the play is still paused a minute later (a pause and resume within a minute is no message);
an end only if the same film or episode has not started again within that minute, and then
its new start is no message either (`Change.again`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import apprise
from apprise.attachment.memory import AttachMemory
from django.conf import settings

from profile.formatting import source_name
from profile.live import player
from profile.live.poll import get_image_bytes
from profile.live.watching import NowWatching

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 60.0
TRIES = 4
BACKOFF_SECONDS = (2.0, 8.0, 30.0)  # the waits before the second, third and fourth tries


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    poster: str | None = None  # a TMDB image URL, attached where the target shows images


# --- What is said, and when -----------------------------------------------------------------------


def played(change: player.Change, play: player.Play | None) -> None:
    """A webhook's change of what plays (webhooks.py, after the answer)."""
    if not settings.NOTIFY_URLS or play is None:
        return
    events = settings.NOTIFY_EVENTS
    shown = player.as_watching(play)
    if change.kind == "started" and "start" in events and not change.again:
        _notifier.schedule(0, _sent_as_is(_start(shown)))
    elif change.kind == "stopped" and "end" in events:
        key = play.key
        message = _end(shown, play, change.watched)
        _notifier.schedule(DEBOUNCE_SECONDS, _unless(lambda kept: _plays(kept, key), message))
    elif change.kind == "paused" and "pause" in events and play.paused_since is not None:
        key, since = play.key, play.paused_since
        message = Message(f"Paused: {_name(shown)}", _lines(shown, play.source), _poster(shown))
        still = _unless(lambda kept: not _paused_since(kept, key, since), message)
        _notifier.schedule(DEBOUNCE_SECONDS, still)


def friend_started(slug: str, shown: NowWatching) -> None:
    """A friend started watching (friends.py)."""
    if settings.NOTIFY_URLS and "friends" in settings.NOTIFY_EVENTS:
        message = Message(f"@{slug} is watching {_name(shown)}", _lines(shown), _poster(shown))
        _notifier.schedule(0, _sent_as_is(message))


def _start(shown: NowWatching) -> Message:
    return Message(f"Now watching: {_name(shown)}", _lines(shown, shown.source), _poster(shown))


def _end(shown: NowWatching, play: player.Play, watched: bool) -> Message:
    share = round(play.seen_share(play.at) * 100)
    verb = "Finished" if watched else "Stopped"
    lines = _lines(shown, play.source)
    return Message(f"{verb}: {_name(shown)}", f"{lines}\nWatched to {share} %", _poster(shown))


def _name(shown: NowWatching) -> str:
    return f"{shown.title} {shown.subtitle}" if shown.subtitle else shown.title


def _lines(shown: NowWatching, source: str | None = None) -> str:
    """The year and kind, where it plays, the title's page and the site's."""
    kind = "Movie" if shown.type == "movie" else "TV"
    first = " · ".join(part for part in (str(shown.year) if shown.year else "", kind) if part)
    if source and source != "trakt":
        first += f" · on {source_name(source)}"
    links = (shown.links.trakt or shown.links.tmdb or shown.links.imdb, site_url())
    return "\n".join([first, *(link for link in links if link)])


def _poster(shown: NowWatching) -> str | None:
    return shown.images.get("poster") or shown.images.get("still")


def site_url() -> str | None:
    """The site's own address for a link: the first public host it answers to (there is no
    setting of its own), https behind HTTPS_ONLY."""
    for host in settings.ALLOWED_HOSTS:
        host = host.lstrip(".")
        if host and "*" not in host and host not in ("localhost", "127.0.0.1", "[::1]"):
            return f"{'https' if settings.HTTPS_ONLY else 'http'}://{host}/"
    return None


def _plays(kept: player.Player, key: str) -> bool:
    return kept.play is not None and kept.play.key == key


def _paused_since(kept: player.Player, key: str, since) -> bool:
    play = kept.play
    return play is not None and play.key == key and play.paused_since == since


# --- The thread -----------------------------------------------------------------------------------


@dataclass(order=True)
class _Job:
    due: float
    order: int
    message: Message = field(compare=False)
    # Checked when due (with the player's record, read afresh): False drops the message.
    still_wanted: Callable[[player.Player], bool] = field(compare=False)
    target: int | None = field(default=None, compare=False)  # None: every target
    tries: int = field(default=0, compare=False)


def _sent_as_is(message: Message) -> tuple[Message, Callable[[player.Player], bool]]:
    return message, lambda kept: True


def _unless(
    stale: Callable[[player.Player], bool], message: Message
) -> tuple[Message, Callable[[player.Player], bool]]:
    return message, lambda kept: not stale(kept)


class Notifier:
    """This process's notifications: a heap of jobs by due time, one thread."""

    def __init__(self):
        self._jobs: list[_Job] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._targets: list | None = None
        self._failing: set[int] = set()
        self._busy = False

    def schedule(self, delay: float, what: tuple[Message, Callable]) -> None:
        message, still_wanted = what
        self._push(_Job(time.monotonic() + delay, next(self._order), message, still_wanted))

    def _push(self, job: _Job) -> None:
        with self._wake:
            heapq.heappush(self._jobs, job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._jobs or self._jobs[0].due > time.monotonic():
                    self._wake.wait(self._jobs[0].due - time.monotonic() if self._jobs else None)
                job = heapq.heappop(self._jobs)
                self._busy = True
            try:
                self._run_job(job)
            except Exception:  # the thread outlives any one message
                log.exception("a notification could not be sent")
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _run_job(self, job: _Job) -> None:
        if job.target is None:
            if not job.still_wanted(player.shared()):
                return
            targets = range(len(self.targets()))
        else:
            targets = [job.target]
        attachment = _attachment(job.message.poster)
        for number in targets:
            self._try(job, number, attachment)

    def _try(self, job: _Job, number: int, attachment) -> None:
        target = self.targets()[number]
        message = job.message
        sent = target is not None and target.notify(
            body=message.body, title=message.title, attach=attachment
        )
        if sent:
            if number in self._failing:
                self._failing.discard(number)
                log.info("notification target %s (%s) works again", number + 1, _name_of(target))
            return
        tries = job.tries + 1
        if tries < TRIES:
            retry = _Job(
                time.monotonic() + BACKOFF_SECONDS[tries - 1],
                next(self._order),
                message,
                job.still_wanted,
                target=number,
                tries=tries,
            )
            self._push(retry)
        elif number not in self._failing:
            self._failing.add(number)
            log.warning(
                "notification target %s (%s) failed %s times; it is not said again until it works",
                number + 1,
                _name_of(target),
                TRIES,
            )

    def targets(self) -> list:
        """NOTIFY_URLS as Apprise plugins (settings.py checked each one at start-up)."""
        if self._targets is None:
            self._targets = [apprise.Apprise.instantiate(url) for url in settings.NOTIFY_URLS]
        return self._targets

    def wait(self, timeout: float) -> bool:
        """Until every job due within `timeout` has run (tests)."""
        deadline = time.monotonic() + timeout

        def done() -> bool:
            return not self._busy and not (self._jobs and self._jobs[0].due <= deadline)

        with self._wake:
            return self._wake.wait_for(done, timeout)

    def after_fork(self) -> None:
        self.__init__()


def _name_of(target) -> str:
    return getattr(target, "service_name", None) or type(target).__name__


def _attachment(url: str | None):
    """The poster's bytes (through the client, cached a day) as an attachment; none when it
    could not be had."""
    image = get_image_bytes(url) if url else None
    if image is None:
        return None
    kind = image.content_type.split("/")[-1].split("+")[0]
    attachments = apprise.AppriseAttachment()
    attachments.add(
        AttachMemory(content=image.data, name=f"poster.{kind}", mimetype=image.content_type)
    )
    return attachments


_notifier = Notifier()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_notifier.after_fork)


def wait_for_notifications(timeout: float = 10) -> bool:
    """Wait until the notifications due within `timeout` have been tried (for tests)."""
    return _notifier.wait(timeout)


def reset_targets() -> None:
    """Read NOTIFY_URLS again (tests change it)."""
    _notifier._targets = None
    _notifier._failing.clear()
