"""The sync's pace: PACE_CALLS Trakt calls per PACE_SECONDS (a token bucket with a small burst,
so an incremental is instant), a 429 waited out (Retry-After) before carrying on, and a
passing failure tried again a few times."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from profile.client import UpstreamError
from profile.mirror.sync.outcome import Reporter, Stopped

T = TypeVar("T")

# Trakt allows about 500 GET calls per 5 minutes per app; the sync keeps to a fifth of it and
# leaves the rest to the banner.
PACE_CALLS = 100
PACE_SECONDS = 300
PACE_BURST = 10
# How often a failing call is tried again before the run gives up (it resumes next time).
RATE_LIMIT_WAITS = 10
TRANSIENT_RETRIES = 3
TRANSIENT_WAIT_SECONDS = 5


class Pacer:
    """A token bucket: PACE_BURST calls at once, then PACE_CALLS per PACE_SECONDS. The bucket
    is kept in SyncState between runs, so many short runs do not add up to more."""

    def __init__(self, enabled: bool, tokens: float | None, at: datetime | None, sleep):
        self.enabled = enabled
        self.rate = PACE_CALLS / PACE_SECONDS
        self.sleep = sleep
        now = time.time()
        if tokens is None or at is None:
            self.tokens = float(PACE_BURST)
        else:
            self.tokens = min(PACE_BURST, tokens + max(0.0, now - at.timestamp()) * self.rate)
        self.at = now

    def _refill(self) -> None:
        now = time.time()
        self.tokens = min(PACE_BURST, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self) -> None:
        if not self.enabled:
            return
        self._refill()
        if self.tokens < 1:
            self.sleep((1 - self.tokens) / self.rate)
            self._refill()
        self.tokens = max(0.0, self.tokens - 1)

    def seconds_for(self, calls: int) -> float:
        """How long `calls` more calls take at this pace."""
        if not self.enabled:
            return 0.0
        self._refill()
        return max(0.0, calls - self.tokens) / self.rate


class Calls:
    """The run's Trakt calls: paced, counted, waited out and tried again. Long waits renew the
    lease (`renew`) and end early when the process is stopping (`should_stop`)."""

    def __init__(
        self,
        pacer: Pacer,
        reporter: Reporter,
        renew: Callable[[], None],
        sleep: Callable[[float], object],
        should_stop: Callable[[], bool],
    ):
        self.pacer = pacer
        self.reporter = reporter
        self.renew = renew
        self.sleep = sleep
        self.should_stop = should_stop
        self.count = 0

    def __call__(self, call: Callable[[], T]) -> T:
        """One Trakt call, paced; a 429 is waited out and a passing failure tried again."""
        waits = retries = 0
        while True:
            if self.should_stop():
                raise Stopped()
            self.pacer.take()
            self.count += 1
            try:
                return call()
            except UpstreamError as error:
                if error.code == "rate_limited" and waits < RATE_LIMIT_WAITS:
                    if error.status is None:
                        self.count -= 1  # refused here (another caller's 429), never sent
                    waits += 1
                    wait = error.retry_after or 60
                    self.reporter.note(f"Trakt's rate limit: waiting {wait} s, then carrying on.")
                    self.wait(wait)
                    continue
                if error.code in ("timeout", "unavailable") and retries < TRANSIENT_RETRIES:
                    retries += 1
                    self.wait(TRANSIENT_WAIT_SECONDS * retries)
                    continue
                raise

    def wait(self, seconds: float) -> None:
        """Sleeps, renewing the lease on long waits (a Retry-After can be an hour)."""
        left = seconds
        while left > 0:
            if self.should_stop():
                raise Stopped()
            chunk = min(left, 30.0)
            self.sleep(chunk)
            left -= chunk
            if left > 0:
                self.renew()
