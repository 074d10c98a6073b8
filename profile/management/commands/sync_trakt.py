"""`manage.py sync_trakt [--full] [--no-pace]`: bring the history mirror up to date.

A thin wrapper over `profile.mirror.sync.sync()`: a progress bar on a terminal, plain lines
otherwise, and a last line that says what happened. Then it looks up TMDB posters for the
titles the pages show (`--no-posters` skips that), as the background job does. Exit codes: 0 done; 1 failed (the
reason is printed; what was written stays and the next run continues from there);
75 (EX_TEMPFAIL) another sync is running, try again later.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone
from tqdm import tqdm

from profile import formatting
from profile.mirror import sync
from profile.mirror.posters import fill_posters
from profile.mirror.sync.pacing import PACE_CALLS, PACE_SECONDS
from profile.mirror.sync.walk import PAGE
from profile.models import SyncState

BUSY_EXIT = 75  # EX_TEMPFAIL: a temporary condition; trying again later will work
POSTERS = 300  # the titles the pages show, at most


class Command(BaseCommand):
    help = "Mirror the Trakt history (and ratings): a backfill the first time, then what is new."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="walk the whole history again and remove the plays deleted on Trakt",
        )
        parser.add_argument(
            "--no-posters",
            action="store_true",
            help="do not look up TMDB posters for the titles the pages show",
        )
        parser.add_argument(
            "--no-pace",
            action="store_true",
            help=(
                f"do not keep to {PACE_CALLS} Trakt calls per {PACE_SECONDS // 60} "
                "minutes (for a fake upstream in tests and benchmarks)"
            ),
        )

    def handle(self, *args, full: bool, no_pace: bool, no_posters: bool, **options):
        progress = TerminalProgress(self.stdout) if self.stdout.isatty() else LineProgress(self)
        try:
            outcome = sync.sync(full=full, pace=not no_pace, progress=progress)
        except sync.SyncBusy as busy:
            progress.close()
            self.stderr.write(_busy_line(busy))
            sys.exit(BUSY_EXIT)
        except sync.SyncFailed as failure:
            progress.close()
            raise CommandError(f"Sync failed: {failure.reason} {_resume_note()}".strip()) from None
        except KeyboardInterrupt:
            progress.close()
            raise CommandError(f"Interrupted. {_resume_note()}".strip()) from None
        progress.close()
        for note in outcome.notes:
            self.stdout.write(note)
        if not no_posters:
            posters = fill_posters(limit=POSTERS, pause=0 if no_pace else 0.25)
            if posters:
                self.stdout.write(f"{formatting.counted(posters, 'poster')} looked up on TMDB.")
        self.stdout.write(outcome.summary())


def _busy_line(busy: sync.SyncBusy) -> str:
    """What is true of the lease's holder: running here, or elsewhere and unknowable."""
    until = timezone.localtime(busy.until).strftime("%H:%M:%S") if busy.until else "?"
    if busy.running:
        return (
            f"Another sync is running ({busy.who}; its lease runs until {until}, renewed while "
            "it works). Nothing done; try again later."
        )
    return (
        f"Another sync holds the lease ({busy.who}) until {until}, renewed while it works; if "
        "it was stopped, the lease lapses then. Nothing done; try again later."
    )


def _resume_note() -> str:
    # Read only (a failed run may have left no row, and the database may refuse writes).
    try:
        walk = SyncState.objects.row().values("walk_kind", "walk_next_page").first()
    except DatabaseError:  # the failure's own reason says enough
        return ""
    if walk and walk["walk_next_page"]:
        return f"The next run continues the {walk['walk_kind']} at page {walk['walk_next_page']}."
    return ""


def _walk_line(kind: str, first_page: int, pages: int | None, seconds: float) -> str:
    what = {"backfill": "Backfilling the history", "full": "Walking the whole history"}[kind]
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
