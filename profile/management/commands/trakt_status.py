"""manage.py trakt_status: whose Trakt credentials the site uses, and how they are doing.

Each line is one function of `LINES`, taking the `Status` and giving (label, text) or
None; a new line (the history mirror's last sync, say) is one more function in the list. It
never prints a token. Exits 1 when the stored sign-in was ended by Trakt, or the database
cannot be read.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from profile.management.commands._trakt import when
from profile.models import SyncState
from profile.signin.status import Status, sign_in_status

Line = tuple[str, str] | None


def signed_in(status: Status) -> Line:
    sign_in = status.sign_in
    if sign_in is None:
        return "Signed in", "nobody (sign in with `manage.py trakt_login`)"
    who = f"@{sign_in.user_slug}" if sign_in.user_slug else "an owner Trakt did not name"
    if sign_in.user_name and sign_in.user_name != sign_in.user_slug:
        who += f" ({sign_in.user_name})"
    return "Signed in", f"{who}, since {when(sign_in.signed_in_at)}"


def signed_out(status: Status) -> Line:
    sign_in = status.sign_in
    if sign_in is None or sign_in.signed_out_at is None:
        return None
    return (
        "SIGNED OUT",
        f"{when(sign_in.signed_out_at)}: {sign_in.last_error or 'Trakt ended the sign-in'}. "
        "Sign in again with `manage.py trakt_login`.",
    )


def calls_use(status: Status) -> Line:
    if settings.DEMO_MODE:
        return "Trakt calls use", "none: the site serves its built-in demo data (DEMO_MODE)"
    if settings.EXPORT_ONLY:
        return (
            "Trakt calls use",
            "none: no Trakt API app (TRAKT_API_KEY); the site shows the export imported with "
            "`manage.py import_trakt_export`",
        )
    text = {
        "signed_in": "the stored sign-in (the owner's /users/me/...)",
        "environment": "TRAKT_ACCESS_TOKEN: a token this site cannot renew; it stops working "
        "when it expires (Trakt's tokens last 7 days). Prefer `manage.py trakt_login`",
        "public": f"no token: the public profile of @{status.public_user}",
        "none": "nothing: set TRAKT_USERNAME, or sign in with `manage.py trakt_login`",
    }[status.using]
    return "Trakt calls use", text


def expires(status: Status) -> Line:
    sign_in = status.sign_in
    if sign_in is None or sign_in.signed_out_at is not None:
        return None
    if sign_in.expires_at <= timezone.now():
        text = f"EXPIRED {when(sign_in.expires_at)}; renewed at the next Trakt call"
    elif not status.client_secret:
        text = f"{when(sign_in.expires_at)}; NOT renewed: TRAKT_CLIENT_SECRET is not set"
    else:
        text = (
            f"{when(sign_in.expires_at)}; renewed automatically from "
            f"{when(max(sign_in.renewal_due_at, timezone.now()))}"
        )
    return "Token expires", text


def last_renewal(status: Status) -> Line:
    sign_in = status.sign_in
    if sign_in is None:
        return None
    text = when(sign_in.renewed_at)
    if sign_in.next_renewal_at is not None and sign_in.signed_out_at is None:
        text += f"; the next try after a failure: {when(sign_in.next_renewal_at)}"
    return "Last renewal", text


def last_error(status: Status) -> Line:
    sign_in = status.sign_in
    if sign_in is None:
        return None
    if not sign_in.last_error:
        return "Last error", "none"
    return "Last error", f"{sign_in.last_error} ({when(sign_in.last_error_at)})"


def environment_token(status: Status) -> Line:
    if not status.environment_token or status.using == "environment":
        return None
    return "TRAKT_ACCESS_TOKEN", "set, but unused while the stored sign-in works"


def rate_limit(status: Status) -> Line:
    seen = status.rate_limit
    if seen is None:
        return "Rate limit", "not seen yet (Trakt sends it with every answer)"
    window = f" per {seen.period} s" if seen.period else ""
    name = f" ({seen.name})" if seen.name else ""
    return (
        "Rate limit",
        f"{seen.remaining:,} of {seen.limit:,} calls left{window}{name}, as of {when(seen.seen_at)}",
    )


def database(status: Status) -> Line:
    if status.database_error is None:
        return None
    return "DATABASE", f"cannot be read ({status.database_error}): run `manage.py migrate`"


def history_mirror(status: Status) -> Line:
    """The history mirror's last sync (profile/mirror/), read from its own state."""
    if status.database_error is not None:
        return None
    state = SyncState.objects.row().first()
    if state is None or state.last_attempt_at is None:
        return "Last sync", "never (the site syncs by itself, or run `manage.py sync_trakt`)"
    if state.last_success_at is None:
        text = "never finished"
    else:
        text = f"{when(state.last_success_at)}: {state.last_result}"
    if state.walk_kind and state.walk_next_page:
        text += f"; a {state.walk_kind} continues from page {state.walk_next_page}"
    failed_since = state.last_error_at and (
        state.last_success_at is None or state.last_error_at > state.last_success_at
    )
    if state.last_error and failed_since:
        text += f"; the last try failed {when(state.last_error_at)}: {state.last_error}"
    return "Last sync", text


LINES = [
    database,
    signed_in,
    signed_out,
    calls_use,
    expires,
    last_renewal,
    last_error,
    environment_token,
    rate_limit,
    history_mirror,
]


class Command(BaseCommand):
    help = (
        "Show whose Trakt credentials the site uses, when the token expires and was renewed, "
        "the last error, the rate-limit headroom and the history mirror's last sync. Never prints "
        "a token."
    )

    def handle(self, *args, **options):
        status = sign_in_status()
        lines = [line for make in LINES if (line := make(status)) is not None]
        width = max(len(label) for label, _ in lines)
        for label, text in lines:
            self.stdout.write(f"{label + ':':<{width + 1}} {text}")
        if status.database_error is not None:
            raise CommandError("The database cannot be read: run `manage.py migrate`.")
        if status.sign_in is not None and status.sign_in.signed_out_at is not None:
            raise CommandError("Trakt ended the sign-in: run `manage.py trakt_login`.")
