"""manage.py trakt_logout: revoke the stored Trakt token at Trakt and delete it here."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from profile.live.answers import forget_trakt_answers
from profile.management.commands._trakt import require_database
from profile.signin.device import sign_out
from profile.signin.renewal import trakt_app

AUTHORIZED_APPS = "https://trakt.tv/oauth/authorized_applications"


class Command(BaseCommand):
    help = "Sign out of Trakt: revoke the stored token at Trakt and delete it here."

    def handle(self, *args, **options):
        require_database()
        result = sign_out(trakt_app())
        if settings.TRAKT_ACCESS_TOKEN:
            self.stdout.write(
                "TRAKT_ACCESS_TOKEN is still set in the environment, and the site uses it: "
                "remove it there too to stop."
            )
        if not result.was_signed_in:
            self.stdout.write("Nobody is signed in here: nothing to do.")
            return
        # Nothing the sign-in showed is kept for visitors after this.
        forget_trakt_answers()
        who = f"@{result.user_slug}" if result.user_slug else "the owner"
        if result.revoke_error:
            raise CommandError(
                f"Deleted the sign-in of {who} here, but Trakt did not revoke the token "
                f"({result.revoke_error}). Revoke the app's access at {AUTHORIZED_APPS}."
            )
        self.stdout.write(f"Signed out {who}: the token is revoked at Trakt and deleted here.")
