"""`manage.py backup PATH`: a consistent copy of the database while the site runs.

A thin wrapper over `profile.ops.backup.backup()`: SQLite's online backup, or `pg_dump`.
PATH is a file (replaced once the copy is whole) or a folder (a file named after the time).
The copy holds the owner's Trakt tokens encrypted under SECRET_KEY: keep it apart from it.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from profile.ops.backup import KIND_NAMES, BackupError, backup


class Command(BaseCommand):
    help = "Copy the database to PATH (a file, or a folder) while the site runs."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file to write, or a folder to write it in")

    def handle(self, *args, path: str, **options):
        try:
            made = backup(Path(path))
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Backed up the {KIND_NAMES[made.kind]} database to {made.path} "
            f"({made.size / 1e6:.1f} MB). Keep SECRET_KEY apart from it: the Trakt sign-in in "
            "it is encrypted under that key."
        )
