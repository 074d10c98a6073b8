"""How the long commands (sync_trakt, import_trakt_export) show their progress: a bar on a
terminal, plain lines otherwise. Both take the `Reporter` calls of profile.mirror.sync."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from profile import formatting
from profile.mirror.sync.pacing import PACE_CALLS, PACE_SECONDS
from profile.mirror.sync.walk import PAGE

WALKS = {
    "backfill": "Backfilling the history",
    "full": "Walking the whole history",
    "import": "Importing the history",
}


def progress_for(command: BaseCommand):
    return TerminalProgress(command.stdout) if command.stdout.isatty() else LineProgress(command)


def _walk_line(kind: str, first_page: int, pages: int | None, seconds: float) -> str:
    what = WALKS[kind]
    if pages is None:
        return f"{what} (Trakt did not say how many pages)."
    left = pages - first_page + 1
    line = f"{what}: {formatting.counted(left, 'page')} of up to {PAGE} plays"
    if seconds >= 60:
        line += (
            f", paced to {PACE_CALLS} Trakt calls per {PACE_SECONDS // 60} minutes: "
            f"about {formatting.watch_time(round(seconds / 60))}"
        )
    return line + "."


class LineProgress:
    """Plain lines (no terminal): one when a walk starts, then every 10 pages or 10 s."""

    def __init__(self, command: BaseCommand):
        self.out = command.stdout
        self.last = 0.0

    def walk(self, kind, first_page, pages, seconds):
        self.out.write(_walk_line(kind, first_page, pages, seconds))

    def page(self, page, pages, stored):
        now = time.monotonic()
        if page % 10 == 0 or now - self.last >= 10 or page == pages:
            of = f" of {pages:,}" if pages else ""
            self.out.write(f"page {page:,}{of}")
            self.last = now

    def note(self, text):
        self.out.write(text)

    def close(self):
        pass


class TerminalProgress:
    """A progress bar over the pages (tqdm) on a terminal."""

    def __init__(self, out):
        self.out = out
        self.bar = None

    def walk(self, kind, first_page, pages, seconds):
        self.out.write(_walk_line(kind, first_page, pages, seconds))
        self.bar = tqdm(
            total=pages, initial=first_page - 1, unit="page", file=self.out._out, leave=False
        )

    def page(self, page, pages, stored):
        if self.bar is not None:
            if pages is not None and pages != self.bar.total:
                self.bar.total = pages  # Trakt's count of what is left moved
            self.bar.update(1)

    def note(self, text):
        if self.bar is not None:
            self.bar.write(text, file=self.out._out)
        else:
            self.out.write(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
