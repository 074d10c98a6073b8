"""manage.py trakt_login: sign in with Trakt's device flow, once; the site renews the token."""

from __future__ import annotations

import io
import os
import time

import segno
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from profile.client import UpstreamError
from profile.client.schemas import DeviceCode
from profile.live.answers import forget_trakt_answers
from profile.management.commands._trakt import require_database, when
from profile.signin.device import SignInFailed, sign_in_with_device, whose
from profile.signin.renewal import trakt_app


class Command(BaseCommand):
    help = (
        "Sign in with Trakt as the profile's owner (Trakt's device flow): open the address "
        "shown, enter the code, and the site keeps and renews the token from then on."
    )

    def handle(self, *args, **options):
        if settings.DEMO_MODE:
            raise CommandError(
                "DEMO_MODE is on, so the site does not talk to Trakt: set TRAKT_API_KEY and "
                "DEMO_MODE=false to sign in."
            )
        app = trakt_app()
        if app is None:
            raise CommandError(
                "Set TRAKT_API_KEY and TRAKT_CLIENT_SECRET (the Client ID and Client Secret of "
                "your Trakt API app, https://trakt.tv/oauth/applications) to sign in."
            )
        require_database()
        try:
            row = sign_in_with_device(
                app, self.show_code, self.say, sleep=time.sleep, clock=time.monotonic
            )
        except SignInFailed as failure:
            raise CommandError(str(failure)) from None
        except UpstreamError as error:
            raise CommandError(f"Trakt could not start the sign-in: {error.message}") from None
        except KeyboardInterrupt:
            raise CommandError("Stopped: nothing was stored.", returncode=130) from None
        # The site's kept answers were made without this sign-in (a private profile's errors).
        forget_trakt_answers()
        try:
            owner = whose(row)
        except UpstreamError as error:
            self.say(
                f"Signed in, but Trakt did not say whose token it is ({error.message}) The "
                "token is renewed automatically; `manage.py trakt_status` shows it."
            )
            return
        # Trakt may name no slug for the owner: the username says who it is then.
        handle = owner.ids.slug or owner.username
        self.stdout.write(
            self.style.SUCCESS(f"Signed in as @{handle}; the token is renewed automatically.")
        )
        self.say(f"It expires {when(row.expires_at)} unless renewed before.")
        username = settings.TRAKT_USERNAME
        if username and username.lower() != handle.lower():
            self.say(
                f"Note: TRAKT_USERNAME is {username}, but the site now shows @{handle}'s "
                "profile (the signed-in owner's)."
            )

    def show_code(self, code: DeviceCode) -> None:
        address = f"{code.verification_url.rstrip('/')}/{code.user_code}"
        self.say(f"To sign in, open {code.verification_url} and enter the code {code.user_code}")
        self.say(f"(or open {address} directly).")
        drawing = qr_code(address, self.stdout)
        if drawing:
            self.say("On a phone, scan this:")
            self.stdout.write(drawing, ending="")
        minutes = max(1, round(code.expires_in / 60))
        self.say(f"Waiting for the approval; the code expires in {minutes} min.")

    def say(self, line: str) -> None:
        self.stdout.write(line)
        # Shown at once, even when stdout is a pipe or a log file.
        self.stdout.flush()


def qr_code(address: str, stream) -> str | None:
    """A QR code of `address` as text, if `stream` is a terminal that can show one."""
    if not stream.isatty() or os.environ.get("TERM", "dumb") == "dumb":
        return None
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    out = io.StringIO()
    # Half-height block characters where the terminal speaks UTF-8, else ANSI reverse video.
    segno.make(address, error="m").terminal(out=out, compact=encoding == "utf8")
    return out.getvalue()
