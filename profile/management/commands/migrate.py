"""`manage.py migrate`, Django's own, one process at a time per database.

Every start of the site migrates first (`make serve`, the container), and several may start
at once (`docker compose up --scale web=3`): one migrates, the others wait for it and then
find nothing to do (`profile.ops.migrations.migration_lock`).
"""

from __future__ import annotations

from django.core.management.commands import migrate
from django.db import connections

from profile.ops.migrations import migration_lock


class Command(migrate.Command):
    help = f"{migrate.Command.help} One process at a time: others wait for it."

    def handle(self, *args, **options):
        with migration_lock(connections[options["database"]], say=self.stdout.write):
            super().handle(*args, **options)
