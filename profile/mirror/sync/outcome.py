"""What a sync run says of itself: its outcome, why it stopped, and who watches it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from profile.formatting import counted

log = logging.getLogger("profile.mirror.sync")


class SyncFailed(Exception):
    """The run stopped; `reason` says why in a sentence. What was written stays."""

    def __init__(self, reason: str, code: str = "failed", outage: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        # The database cannot be read: the guard said so when it began (nowwatching/databases).
        self.outage = outage


class Stopped(Exception):
    """The process is shutting down (the background job's `should_stop`)."""


@dataclass
class Outcome:
    kind: str  # "backfill", "full", "incremental" or "unchanged"
    plays: int = 0  # plays in the mirror afterwards
    new: int = 0
    removed: int = 0
    calls: int = 0
    ratings: int = 0
    notes: list[str] = field(default_factory=list)
    # The library's sections fetched (favorites, watchlist, lists, comments: how many each
    # holds now), and the calls they took (counted in `calls` too).
    library: dict[str, int] = field(default_factory=dict)
    library_calls: int = 0
    exact: bool = True  # a walk that read every play (so its removals were made)

    def summary(self) -> str:
        line = (
            f"{self.plays:,} plays, {self.new:,} new, {self.removed:,} removed, "
            f"{counted(self.calls, 'Trakt call')}"
        )
        if self.library:
            names = [name for section, name in LIBRARY_NAMES.items() if section in self.library]
            line += f" ({self.library_calls:,} for {', '.join(names)})"
        return line


LIBRARY_NAMES = {
    "favorites": "favourites",
    "watchlist": "watchlist",
    "lists": "lists",
    "comments": "comments",
}


class Reporter(Protocol):
    """What a run tells whoever watches it (the command's progress bar, or nobody)."""

    def walk(self, kind: str, first_page: int, pages: int | None, seconds: float) -> None: ...

    def page(self, page: int, pages: int | None, stored: int) -> None: ...

    def note(self, text: str) -> None: ...


class Quiet:
    def walk(self, kind, first_page, pages, seconds):
        pass

    def page(self, page, pages, stored):
        pass

    def note(self, text):
        log.info("history sync: %s", text)
