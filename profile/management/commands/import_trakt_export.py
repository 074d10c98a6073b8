"""`manage.py import_trakt_export PATH [--replace]`: Trakt's data export merged into the mirror.

A thin wrapper over `profile.mirror.importing.import_export()`: a progress bar on a terminal,
plain lines otherwise, a line for each thing Trakt could not export, and a last line that says
what the mirror holds. Then it asks TMDB for the posters, runtimes and genres the export
leaves out (`--no-tmdb` skips that; the site's background job does it too). Exit codes: 0
done; 1 refused or failed (the reason is printed; nothing of a refused export was written);
75 (EX_TEMPFAIL) a sync is running, try again later.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from profile import formatting
from profile.management.commands._progress import progress_for
from profile.mirror.details import fill_details
from profile.mirror.importing import ExportRefused, import_export
from profile.mirror.posters import fill_posters
from profile.mirror.sync import SyncBusy

BUSY_EXIT = 75
# What one run asks TMDB for at most (the background job goes on with the rest).
TMDB_TITLES = 2_000


class Command(BaseCommand):
    help = (
        "Import Trakt's data export (trakt.tv: Settings, Data, Export): a .zip or a folder of "
        "its files. Importing twice, or importing and then syncing, never counts a play twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the export: trakt-export-<you>.zip, or its folder")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace the mirrored history when it is another person's",
        )
        parser.add_argument(
            "--no-tmdb",
            action="store_true",
            help="do not ask TMDB for the posters, runtimes and genres the export leaves out",
        )

    def handle(self, *args, path: str, replace: bool, no_tmdb: bool, **options):
        progress = progress_for(self)
        try:
            outcome = import_export(path, replace=replace, reporter=progress)
        except ExportRefused as refused:
            progress.close()
            raise CommandError(str(refused)) from None
        except SyncBusy as busy:
            progress.close()
            self.stderr.write(
                f"A sync is running ({busy.holder}): nothing imported; try again when it ends."
            )
            sys.exit(BUSY_EXIT)
        except DatabaseError as error:
            progress.close()
            raise CommandError(
                f"The database failed ({type(error).__name__}): is it migrated "
                "(`manage.py migrate`)? What was imported before stays; run the import again."
            ) from None
        except KeyboardInterrupt:
            progress.close()
            raise CommandError("Interrupted. Run the import again to finish it.") from None
        progress.close()
        for note in outcome.notes:
            self.stdout.write(note)
        if not no_tmdb:
            details = fill_details(limit=TMDB_TITLES, pause=0.05)
            posters = fill_posters(limit=TMDB_TITLES, pause=0.05)
            if details or posters:
                self.stdout.write(
                    f"TMDB: {formatting.counted(details, 'runtime')} and "
                    f"{formatting.counted(posters, 'poster')} looked up."
                )
        self.stdout.write(outcome.summary())
