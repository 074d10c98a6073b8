"""`manage.py sync_trakt [--full] [--no-pace]`: bring the history mirror up to date.

A thin wrapper over `profile.mirror.sync.sync()`: a progress bar on a terminal, plain lines
otherwise, and a last line that says what happened. Then it looks up TMDB posters for the
titles the pages show (`--no-posters` skips that), as the background job does. Exit codes: 0 done; 1 failed (the
reason is printed; what was written stays and the next run continues from there);
75 (EX_TEMPFAIL) another sync is running, try again later.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from profile import formatting
from profile.management.commands._progress import progress_for
from profile.mirror import sync
from profile.mirror.posters import fill_posters
from profile.mirror.sync.pacing import PACE_CALLS, PACE_SECONDS
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
        if settings.EXPORT_ONLY:
            raise CommandError(
                "TRAKT_API_KEY is not set, so there is no Trakt API app to sync from: the "
                "history comes from Trakt's data export (`manage.py import_trakt_export PATH`)."
            )
        progress = progress_for(self)
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
