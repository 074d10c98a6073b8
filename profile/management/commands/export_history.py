"""`manage.py export_history --format letterboxd|csv|json [--output FILE]`: the mirror taken
anywhere, streamed (profile/mirror/exporting.py, the same as /api/export/...).

letterboxd: the CSV Letterboxd's importer reads, movies only, one row per play; csv: every
play with its ids and the owner's day; json: everything the mirror holds. Without --output it
writes to standard output; with it, the file appears whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from profile.mirror.exporting import FORMATS


class Command(BaseCommand):
    help = "Export the mirrored history: for Letterboxd (movies), as CSV, or everything as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--output", help="a file to write (standard output if left out)")

    def handle(self, *args, format: str, output: str | None, **options):
        pieces = FORMATS[format].rows()
        try:
            if output is None:
                for piece in pieces:
                    self.stdout.write(piece, ending="")
                return
            _write_whole(Path(output), pieces)
        except DatabaseError as error:
            raise CommandError(
                f"The database failed ({type(error).__name__}): is it migrated "
                "(`manage.py migrate`)? Nothing was written."
            ) from None
        except OSError as error:
            raise CommandError(f"{output} cannot be written: {error.strerror}.") from None


def _write_whole(path: Path, pieces) -> None:
    """Into a file beside `path`, renamed over it at the end: never half an export."""
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
