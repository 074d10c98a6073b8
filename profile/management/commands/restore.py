"""`manage.py restore PATH`: the database replaced with a backup, then migrated.

A thin wrapper over `profile.ops.backup.restore()`; stop the site first (README, "Backups").
The backup's Trakt sign-in is readable only under the SECRET_KEY it was made with.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from profile.ops.backup import KIND_NAMES, BackupError, restore


class Command(BaseCommand):
    help = "Replace the whole database with the backup in PATH (made by `manage.py backup`)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args, path: str, interactive: bool, **options):
        source = Path(path)
        if interactive:
            answer = input(
                f"This replaces everything in the database with {source}. Type 'yes' to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing was restored.")
        try:
            restored = restore(source)
        except BackupError as error:
            raise CommandError(str(error)) from None
        # A backup of an older release: its tables are brought up to this one's.
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Restored the {KIND_NAMES[restored.kind]} database from {source}.")
