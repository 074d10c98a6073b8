"""The owner's Trakt sign-in: the device flow, the tokens kept here (encrypted), their renewal.

Whose credentials. Every Trakt call, from a view, a command or a job, takes them from
`credentials()` (through `as_owner()` or `services.trakt_auth()`), in this order:

1. the sign-in stored here by `manage.py trakt_login` (the owner's `me` paths), renewed here;
2. else TRAKT_ACCESS_TOKEN (also `me`): a token the site cannot renew;
3. else the public profile of TRAKT_USERNAME (or of the signed-out owner's slug).

Tokens at rest. Both tokens are encrypted with Fernet (`cryptography`), under a key derived
from SECRET_KEY with HKDF; SECRET_KEY_FALLBACKS still decrypt. The database alone does not
give them away. TRAKT_CLIENT_SECRET is never stored.

Renewal. A token is renewed when less than a day of it is left (a quarter of its lifetime for
tokens shorter than four days), or when Trakt answers 401 to it. Refresh tokens are single
use, so exactly one caller renews a given generation of the pair, across threads, processes
and machines: it takes a lease on the row with a conditional UPDATE (`generation = g` and no
live lease), which PostgreSQL and SQLite both run atomically, so no `select_for_update` is
needed. It sends the refresh token once and stores the new pair as generation g + 1 in one
UPDATE, fenced by its lease. The others poll the row for up to WAIT_SECONDS for the new
generation, then use the old token if it is still valid, or answer a clear error.

If the renewer dies while Trakt is answering, its lease runs out after LEASE and the next
caller renews with the same refresh token: if Trakt never saw it, that works; if Trakt had
already swapped it, Trakt answers `invalid_grant` and the site is signed out (the new pair
died with the process; the owner signs in again). Nothing waits on a dead renewer for longer
than WAIT_SECONDS.

Signed out. When Trakt refuses the refresh token (`invalid_grant`), or the tokens cannot be
decrypted (SECRET_KEY changed), the row is marked signed out, one error is logged, and the
site stops using it: calls fall back to (2) and (3), and where those cannot stand in for the
owner (a private profile), answer the error code `signed_out`.

Tokens are loaded from the database in `_token_in()` (the access token) and `_renew()` (the
refresh token), and received from Trakt in `store_sign_in()` and `_renew()`: nothing here
logs them, and they only ever leave this module inside a `TraktAuth`.
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.encoding import force_bytes

from nowwatching.redaction import redact_also
from profile.client import TraktAuth, TraktProfile, UpstreamError, oauth, trakt
from profile.client.oauth import SIGNED_OUT_MESSAGE, App
from profile.client.schemas import DeviceCode, RateLimitHeader, TokenPair
from profile.models import TraktRateLimit, TraktToken

log = logging.getLogger(__name__)

T = TypeVar("T")

# Renew when less than this is left of the token (Trakt's tokens last 7 days now) ...
RENEW_BEFORE = timedelta(days=1)
# ... or less than this share of its whole lifetime, for shorter tokens (24 h ones renew at 18 h).
RENEW_BEFORE_SHARE = 4
# How long one renewer holds the lease: far longer than a renewal can take (Trakt's auth host
# has a 5 s deadline), so a live renewer never loses it; a dead one frees it after this.
LEASE = timedelta(seconds=60)
# A renewed pair that the database refuses is tried this often (0.5 s apart) before it is lost.
STORE_ATTEMPTS = 3
# How long a caller waits for somebody else's renewal, and how often it looks.
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.05
# A token refused (401) this soon after it was issued is not refused for its age: renewing it
# again would only spend refresh tokens in a loop.
FRESH_TOKEN = timedelta(minutes=1)
# After a renewal fails for a passing reason, wait before the next try: 30 s, doubling, to 10 min.
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 600
# The latest X-Ratelimit is written down at most this often (per process, and across processes
# that share the cache).
RATE_LIMIT_NOTE_SECONDS = 60
RATE_LIMIT_NOTED_KEY = "nowwatching:v1:trakt:rate-limit-noted"
# How long each process reuses "is the sign-in ended?" for the page's note.
SIGNED_OUT_NOTE_SECONDS = 30
SIGNED_OUT_KEY = "nowwatching:v1:trakt:signed-out"

_HKDF_SALT = b"nowwatching/trakt-token"
_HKDF_INFO = b"fernet-v1"


# --- Credentials --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What a Trakt call is made with, and about whom.

    `source` is "signed_in" (the stored sign-in), "environment" (TRAKT_ACCESS_TOKEN), "public"
    (no token) or "demo". `signed_out` says the stored sign-in was ended, and these are what is
    left.
    """

    auth: TraktAuth
    user: str
    source: str
    generation: int | None = None
    signed_out: bool = False
    # Whose data it is: `user`, or for "me" the slug Trakt gave at sign-in (else
    # TRAKT_USERNAME, else "me"). The same person signed in or not is the same mirror.
    person: str = ""

    def __repr__(self) -> str:  # the auth holds the token: never in a repr
        return f"Credentials(user={self.user!r}, source={self.source!r})"


def credentials() -> Credentials:
    """The credentials every Trakt call uses right now, renewing the stored token if it is due.

    Waits at most WAIT_SECONDS for another caller's renewal. Raises UpstreamError when there
    are none to use (`not_configured`, `signed_out`, or the renewal's own failure once the
    token has expired).
    """
    if settings.DEMO_MODE:
        user = settings.TRAKT_USERNAME or "demo"
        return Credentials(TraktAuth(settings.TRAKT_API_KEY), user, "demo", person=user)
    row = _load()
    if row is not None and not row.signed_out and timezone.now() >= renewal_due_at(row):
        try:
            row = _renewed(row, refused=False)
        except DatabaseError as error:
            row = _old_if_usable(row, False, _database_error(error))
    return _from_row(row)


def as_owner(call: Callable[[TraktAuth, str], T]) -> T:
    """`call(auth, user)` with the current credentials. When Trakt answers 401 to the stored
    token, it is renewed once and the call made once more."""
    used = credentials()
    try:
        return call(used.auth, used.user)
    except UpstreamError as error:
        if error.status != 401 or used.source != "signed_in":
            raise _explained(error, used) from None
        retry = _after_refusal(used, error)
    try:
        return call(retry.auth, retry.user)
    except UpstreamError as error:
        raise _explained(error, retry) from None


def signed_out_error() -> UpstreamError:
    return UpstreamError("signed_out", SIGNED_OUT_MESSAGE)


def is_signed_out() -> bool:
    """Whether the stored sign-in was ended by Trakt (the page's quiet note).

    Asked at every page view, so it is not a database query each time: every read of the
    row (each Trakt fetch makes one) leaves the answer in this process's memory, and a page
    asks the database only when none was made for SIGNED_OUT_NOTE_SECONDS.
    """
    if settings.DEMO_MODE:
        return False
    known = caches["local"].get(SIGNED_OUT_KEY)
    if known is None:
        row = _load()
        known = row is not None and row.signed_out
    return known


def renewal_due_at(row: TraktToken) -> datetime:
    return row.expires_at - _renew_before(row.expires_at - row.issued_at)


def _renew_before(lifetime: timedelta) -> timedelta:
    return min(RENEW_BEFORE, lifetime / RENEW_BEFORE_SHARE)


def _from_row(row: TraktToken | None) -> Credentials:
    if row is not None and not row.signed_out:
        token = _token_in(row)
        if token is not None:
            auth = TraktAuth(settings.TRAKT_API_KEY, token)
            person = row.user_slug or settings.TRAKT_USERNAME or "me"
            return Credentials(auth, "me", "signed_in", row.generation, person=person)
        row = _load()  # unreadable: now marked signed out
    signed_out = row is not None
    if settings.TRAKT_ACCESS_TOKEN:
        # With a token, /users/<name>/watching can answer 405; /users/me/... works.
        auth = TraktAuth(settings.TRAKT_API_KEY, settings.TRAKT_ACCESS_TOKEN)
        person = settings.TRAKT_USERNAME or "me"
        return Credentials(auth, "me", "environment", signed_out=signed_out, person=person)
    user = settings.TRAKT_USERNAME or (row.user_slug if row is not None else "")
    if user:
        auth = TraktAuth(settings.TRAKT_API_KEY)
        return Credentials(auth, user, "public", signed_out=signed_out, person=user)
    if signed_out:
        raise signed_out_error()
    raise UpstreamError(
        "not_configured",
        "Trakt is not configured: set TRAKT_USERNAME, or sign in with `manage.py trakt_login`.",
        retry_after=3600,
    )


def _explained(error: UpstreamError, used: Credentials) -> UpstreamError:
    """While signed out, Trakt's refusals of what is left mean: the owner must sign in."""
    if used.signed_out and error.code in ("private_profile", "unauthorized"):
        return signed_out_error()
    return error


def _after_refusal(used: Credentials, error: UpstreamError) -> Credentials:
    """The credentials to try again with after Trakt answered 401 to the stored token."""
    row = _load()
    if row is None or row.signed_out or row.generation != used.generation:
        return _from_row(row)  # signed out, or renewed meanwhile: use what is there now
    if timezone.now() - (row.renewed_at or row.signed_in_at) < FRESH_TOKEN:
        raise error
    try:
        return _from_row(_renewed(row, refused=True))
    except DatabaseError as failure:
        raise _database_error(failure) from None


# --- Renewal ------------------------------------------------------------------------------------


def _renewed(row: TraktToken, *, refused: bool) -> TraktToken | None:
    """The row to take credentials from: renewed here, or by whoever holds the lease, or (if
    the token was not refused) the old one while it is still valid. None or a signed-out row
    when the sign-in is gone. Raises UpstreamError when there is no token to use."""
    app = _app()
    now = timezone.now()
    if app is None:
        _warn_once(
            "no-secret",
            "TRAKT_CLIENT_SECRET is not set: the Trakt sign-in cannot be renewed and stops "
            "working when its token expires.",
        )
        return _old_if_usable(
            row,
            refused,
            UpstreamError(
                "not_configured",
                "The Trakt sign-in cannot be renewed: set TRAKT_CLIENT_SECRET.",
                retry_after=3600,
            ),
        )
    if row.next_renewal_at is not None and row.next_renewal_at > now:
        return _old_if_usable(row, refused, _renewal_failed_error(row))
    lease = now + LEASE
    taken = (
        TraktToken.objects.filter(pk=1, generation=row.generation, signed_out_at__isnull=True)
        .filter(Q(renewing_until__isnull=True) | Q(renewing_until__lt=now))
        .filter(Q(next_renewal_at__isnull=True) | Q(next_renewal_at__lte=now))
        .update(renewing_until=lease)
    )
    if taken:
        return _renew(row, app, lease, refused)
    return _wait_for_renewal(row, refused)


def _renew(row: TraktToken, app: App, lease: datetime, refused: bool) -> TraktToken | None:
    """Holding the lease: send the refresh token once, store the new pair."""
    # Every write below is fenced by the lease: a renewer that somehow outlived it changes nothing.
    mine = TraktToken.objects.filter(pk=1, generation=row.generation, renewing_until=lease)
    try:
        refresh_token = unseal(row.refresh_token_encrypted)
    except InvalidToken:
        _mark_unreadable(row)
        return _load()
    now = timezone.now()
    try:
        pair = oauth.refresh(app, refresh_token)
    except UpstreamError as error:
        if error.code == "signed_out":
            if mine.update(
                signed_out_at=now,
                renewing_until=None,
                last_error=_clip(
                    f"Trakt refused to renew the token ({_http(error)}): sign in again"
                ),
                last_error_at=now,
            ):
                log.error(
                    "Trakt refused to renew the sign-in of @%s (invalid_grant, %s): the site no "
                    "longer uses it. The owner must sign in again with `manage.py trakt_login`.",
                    row.user_slug or "?",
                    _http(error),
                )
            return _load()
        failures = row.renewal_failures + 1
        wait = BACKOFF_FIRST_SECONDS * 2 ** min(failures - 1, 10)
        wait = min(max(wait, error.retry_after or 0), BACKOFF_MAX_SECONDS)
        mine.update(
            renewing_until=None,
            next_renewal_at=now + timedelta(seconds=wait),
            renewal_failures=failures,
            last_error=_clip(f"renewal failed: {error.code}: {error.message}"),
            last_error_at=now,
        )
        log.warning(
            "Renewing the Trakt sign-in failed (%s); the next try is in %s s.", error.code, wait
        )
        return _old_if_usable(row, refused, error)
    stored = _store_renewed(mine, pair, now)
    if not stored:
        # Signed out or signed in anew while Trakt answered: this pair belongs to nobody.
        log.warning(
            "The Trakt sign-in changed while it was being renewed; the new token is revoked."
        )
        _revoke_quietly(app, pair.access_token)
        return _load()
    renewed = _load()
    if renewed is not None:
        log.info(
            "Renewed the Trakt sign-in of @%s; the new token expires at %s.",
            renewed.user_slug or "?",
            renewed.expires_at.isoformat(timespec="seconds"),
        )
    return renewed


def _store_renewed(mine, pair: TokenPair, now: datetime) -> int:
    """The new pair, as the next generation, in one UPDATE. Trakt has retired the old refresh
    token already, so losing this pair means signing in again: a busy database gets a few
    tries (the lease is ours for a minute)."""
    issued_at, expires_at = pair.issued_at, pair.expires_at
    if expires_at - _renew_before(expires_at - issued_at) <= now:
        # Due again at once (Trakt's clock is far behind ours): that would renew at every
        # call. Its lifetime counts from now instead.
        log.warning(
            "Trakt's renewed token says it was issued at %s, which would make it due at once; "
            "its lifetime is counted from now.",
            issued_at.isoformat(timespec="seconds"),
        )
        issued_at, expires_at = now, now + timedelta(seconds=pair.expires_in)
    fields = {
        "access_token_encrypted": seal(pair.access_token),
        "refresh_token_encrypted": seal(pair.refresh_token),
        "issued_at": issued_at,
        "expires_at": expires_at,
        "renewed_at": now,
        "generation": F("generation") + 1,
        "renewing_until": None,
        "next_renewal_at": None,
        "renewal_failures": 0,
        "last_error": "",
        "last_error_at": None,
    }
    for attempt in range(STORE_ATTEMPTS):
        try:
            return mine.update(**fields)
        except DatabaseError as error:
            log.error(
                "The renewed Trakt token could not be stored (%s, try %s of %s).",
                type(error).__name__,
                attempt + 1,
                STORE_ATTEMPTS,
            )
            if attempt + 1 == STORE_ATTEMPTS:
                raise
            time.sleep(0.5)
    return 0


def _wait_for_renewal(row: TraktToken, refused: bool) -> TraktToken | None:
    """Somebody else holds the lease (or just finished): wait briefly for the new generation."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        latest = _load()
        if latest is None or latest.signed_out or latest.generation != row.generation:
            return latest
        live_lease = latest.renewing_until is not None and latest.renewing_until >= timezone.now()
        if not live_lease:
            # The renewer gave up without a new pair (Trakt failing): say what it ran into.
            return _old_if_usable(latest, refused, _renewal_failed_error(latest))
        if time.monotonic() + POLL_SECONDS > deadline:
            break
        time.sleep(POLL_SECONDS)
    return _old_if_usable(
        row,
        refused,
        UpstreamError(
            "unavailable",
            "The Trakt sign-in is being renewed; try again in a moment.",
            retry_after=5,
        ),
    )


def _old_if_usable(row: TraktToken, refused: bool, error: UpstreamError) -> TraktToken:
    """The row as it is, while its token was not refused and has not expired; else `error`."""
    if not refused and row.expires_at > timezone.now():
        return row
    raise error


def _renewal_failed_error(row: TraktToken) -> UpstreamError:
    retry = None
    if row.next_renewal_at is not None:
        retry = max(1, int((row.next_renewal_at - timezone.now()).total_seconds()))
    return UpstreamError(
        "unavailable",
        "The Trakt sign-in expired and renewing it failed for now; the site tries again shortly.",
        retry_after=retry,
    )


def _database_error(error: DatabaseError) -> UpstreamError:
    log.warning(
        "The Trakt sign-in could not be renewed: the database failed (%s).", type(error).__name__
    )
    return UpstreamError(
        "unavailable", "The site's database is not answering; try again in a moment.", retry_after=5
    )


def _http(error: UpstreamError) -> str:
    return f"HTTP {error.status}" if error.status else error.code


def _clip(text: str) -> str:
    return text[: TraktToken._meta.get_field("last_error").max_length]


def _revoke_quietly(app: App, token: str) -> None:
    try:
        oauth.revoke(app, token)
    except UpstreamError:
        pass  # oauth logged it; the token dies at its expiry anyway


def _app() -> App | None:
    if not settings.TRAKT_API_KEY or not settings.TRAKT_CLIENT_SECRET:
        return None
    return App(settings.TRAKT_API_KEY, settings.TRAKT_CLIENT_SECRET)


# --- Storage ------------------------------------------------------------------------------------


def _load() -> TraktToken | None:
    """The stored sign-in, or None when there is none or the database cannot say."""
    try:
        row = TraktToken.objects.filter(pk=1).first()
    except DatabaseError as error:
        # The class only: a driver's message may name the database's address.
        _warn_once(
            "database",
            f"The stored Trakt sign-in cannot be read ({type(error).__name__}): is the "
            "database migrated (`manage.py migrate`)? Trakt is called without it meanwhile.",
        )
        caches["local"].set(SIGNED_OUT_KEY, False, timeout=SIGNED_OUT_NOTE_SECONDS)
        return None
    signed_out = row is not None and row.signed_out
    caches["local"].set(SIGNED_OUT_KEY, signed_out, timeout=SIGNED_OUT_NOTE_SECONDS)
    return row


def _token_in(row: TraktToken) -> str | None:
    """The row's access token, or None (and the row marked signed out) if it cannot be read."""
    try:
        return unseal(row.access_token_encrypted)
    except InvalidToken:
        _mark_unreadable(row)
        return None


def _mark_unreadable(row: TraktToken) -> None:
    now = timezone.now()
    message = "the stored tokens cannot be decrypted with this SECRET_KEY: sign in again"
    if TraktToken.objects.filter(
        pk=1, generation=row.generation, signed_out_at__isnull=True
    ).update(signed_out_at=now, renewing_until=None, last_error=message, last_error_at=now):
        log.error(
            "The stored Trakt sign-in cannot be decrypted (was SECRET_KEY changed?): the site no "
            "longer uses it. The owner must sign in again with `manage.py trakt_login`."
        )


def store_sign_in(pair: TokenPair) -> TraktToken:
    """Keep a new sign-in's tokens, replacing whatever was stored, as the next generation."""
    now = timezone.now()
    fields = {
        "access_token_encrypted": seal(pair.access_token),
        "refresh_token_encrypted": seal(pair.refresh_token),
        "issued_at": pair.issued_at,
        "expires_at": pair.expires_at,
        "user_slug": "",
        "user_name": "",
        "signed_in_at": now,
        "renewed_at": None,
        "renewing_until": None,
        "next_renewal_at": None,
        "renewal_failures": 0,
        "last_error": "",
        "last_error_at": None,
        "signed_out_at": None,
    }
    # A new generation, so a renewal of the old pair under way cannot overwrite this one.
    if not TraktToken.objects.filter(pk=1).update(generation=F("generation") + 1, **fields):
        try:
            with transaction.atomic():
                TraktToken.objects.create(pk=1, generation=1, **fields)
        except IntegrityError:  # created meanwhile
            TraktToken.objects.filter(pk=1).update(generation=F("generation") + 1, **fields)
    return TraktToken.objects.get(pk=1)


def remember_owner(profile: TraktProfile) -> None:
    TraktToken.objects.filter(pk=1).update(
        user_slug=profile.ids.slug, user_name=(profile.name or profile.username)[:1000]
    )


# --- Encryption at rest -------------------------------------------------------------------------


def seal(value: str) -> str:
    """`value` encrypted with the key derived from SECRET_KEY (Fernet: AES-128-CBC + HMAC).
    Every token passes here or through `unseal`: from now on no log line may hold it."""
    redact_also(value)
    return _fernet(_secret_keys()).encrypt(value.encode()).decode("ascii")


def unseal(value: str) -> str:
    """What `seal` encrypted, with SECRET_KEY or one of SECRET_KEY_FALLBACKS; InvalidToken
    when none of them can."""
    token = _fernet(_secret_keys()).decrypt(value.encode("ascii")).decode()
    redact_also(token)
    return token


def _secret_keys() -> tuple:
    return (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)


@functools.lru_cache(maxsize=4)
def _fernet(secret_keys: tuple) -> MultiFernet:
    return MultiFernet([Fernet(_derived_key(secret)) for secret in secret_keys])


def _derived_key(secret) -> bytes:
    # A key of its own, so the tokens' key is not Django's signing key itself.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(key.derive(force_bytes(secret)))


# --- Signing in and out -------------------------------------------------------------------------


class SignInFailed(Exception):
    """The device flow ended without a sign-in; the message says why and what to do."""


DEVICE_REFUSALS = {
    "invalid": "Trakt does not know this device code (HTTP 404). Run `manage.py trakt_login` "
    "again.",
    "used": "This code was used already (HTTP 409). Run `manage.py trakt_login` again for a new "
    "one.",
    "expired": "The code expired before it was approved (HTTP 410). Run `manage.py trakt_login` "
    "again and approve it in time.",
    "denied": "The sign-in was denied at Trakt (HTTP 418). Nothing was stored.",
}
# Poll less often by this much each time Trakt says "slow down" (429), up to a minute.
SLOW_DOWN_SECONDS = 5
SLOWEST_POLL_SECONDS = 60


def sign_in_with_device(
    app: App,
    show_code: Callable[[DeviceCode], None],
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TraktToken:
    """Trakt's device flow: show the code, poll every `interval` until approved or expired,
    store the tokens. Raises SignInFailed (or UpstreamError when Trakt cannot start it)."""
    code = oauth.device_code(app.client_id)
    show_code(code)
    interval = code.interval or 5
    deadline = clock() + code.expires_in
    trouble = None
    while True:
        left = deadline - clock()
        if left <= 0:
            raise SignInFailed(
                f"The code expired after {_minutes(code.expires_in)} without an approval. Run "
                "`manage.py trakt_login` again."
            )
        sleep(min(interval, left))
        try:
            poll = oauth.poll_device_token(app, code.device_code)
        except UpstreamError as error:
            if error.code in ("unauthorized", "forbidden"):
                raise SignInFailed(error.message) from None
            if error.code != trouble:  # say it once, not at every poll
                say(f"Trakt did not answer ({error.message}) Still waiting.")
                trouble = error.code
            continue
        trouble = None
        if poll.status == "approved":
            replaced = _access_token_stored()
            row = store_sign_in(poll.tokens)
            if replaced is not None and replaced != poll.tokens.access_token:
                _revoke_quietly(app, replaced)  # the sign-in this one replaces: no use now
            return row
        if poll.status == "slow_down":
            interval = min(interval + SLOW_DOWN_SECONDS, SLOWEST_POLL_SECONDS)
            say(f"Trakt asks to poll less often: every {interval} s from now on.")
        elif poll.status != "pending":
            raise SignInFailed(DEVICE_REFUSALS[poll.status])


def _access_token_stored() -> str | None:
    row = _load()
    if row is None:
        return None
    try:
        return unseal(row.access_token_encrypted)
    except InvalidToken:
        return None


def whose(row: TraktToken) -> TraktProfile:
    """Ask Trakt whose token the stored one is (/users/me) and remember it."""
    token = _token_in(row)
    if token is None:
        raise signed_out_error()
    profile = trakt.profile(TraktAuth(settings.TRAKT_API_KEY, token), "me")
    remember_owner(profile)
    return profile


@dataclass(frozen=True)
class SignedOut:
    was_signed_in: bool
    user_slug: str = ""
    revoke_error: str | None = None  # why Trakt did not revoke it, if it did not


def sign_out(app: App | None) -> SignedOut:
    """Revoke the stored token at Trakt (when the app's secret is known) and delete it here."""
    row = _load()
    if row is None:
        return SignedOut(False)
    revoke_error = None
    if app is None:
        revoke_error = "TRAKT_CLIENT_SECRET is not set, so Trakt was not asked to revoke it"
    else:
        try:
            token = unseal(row.access_token_encrypted)
        except InvalidToken:
            revoke_error = "the stored token cannot be decrypted with this SECRET_KEY"
        else:
            try:
                oauth.revoke(app, token)
            except UpstreamError as error:
                revoke_error = error.message
    TraktToken.objects.filter(pk=1).delete()
    return SignedOut(True, row.user_slug, revoke_error)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- What `manage.py trakt_status` shows --------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The stored sign-in, without its tokens."""

    user_slug: str
    user_name: str
    signed_in_at: datetime
    issued_at: datetime
    expires_at: datetime
    renewal_due_at: datetime
    renewed_at: datetime | None
    next_renewal_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    signed_out_at: datetime | None


@dataclass(frozen=True)
class Status:
    sign_in: SignIn | None
    using: str  # what Trakt calls use now: "signed_in", "environment", "public" or "none"
    public_user: str
    environment_token: bool
    client_secret: bool
    rate_limit: TraktRateLimit | None
    database_error: str | None = None


def status() -> Status:
    """Everything `trakt_status` says, read from the database; never a token."""
    database_error = None
    try:
        row = TraktToken.objects.filter(pk=1).first()
        rate_limit = TraktRateLimit.objects.filter(pk=1).first()
    except DatabaseError as error:
        row, rate_limit, database_error = None, None, type(error).__name__
    sign_in = None
    if row is not None:
        sign_in = SignIn(
            user_slug=row.user_slug,
            user_name=row.user_name,
            signed_in_at=row.signed_in_at,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            renewal_due_at=renewal_due_at(row),
            renewed_at=row.renewed_at,
            next_renewal_at=row.next_renewal_at,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            signed_out_at=row.signed_out_at,
        )
    public_user = settings.TRAKT_USERNAME or (row.user_slug if row is not None else "")
    if row is not None and not row.signed_out:
        using = "signed_in"
    elif settings.TRAKT_ACCESS_TOKEN:
        using = "environment"
    else:
        using = "public" if public_user else "none"
    return Status(
        sign_in=sign_in,
        using=using,
        public_user=public_user,
        environment_token=bool(settings.TRAKT_ACCESS_TOKEN),
        client_secret=bool(settings.TRAKT_CLIENT_SECRET),
        rate_limit=rate_limit,
        database_error=database_error,
    )


# --- The rate limit's headroom, for another process to read --------------------------------------

_notes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trakt-notes")
_note_lock = threading.Lock()
_next_note = 0.0


def remember_rate_limit(sender, info: RateLimitHeader, **kwargs) -> None:
    """Keep Trakt's latest X-Ratelimit (at most once a minute), off the caller's path."""
    global _next_note
    if settings.DEMO_MODE:
        return
    with _note_lock:
        if time.monotonic() < _next_note:
            return
        _next_note = time.monotonic() + RATE_LIMIT_NOTE_SECONDS
    try:
        if not cache.add(RATE_LIMIT_NOTED_KEY, True, timeout=RATE_LIMIT_NOTE_SECONDS):
            return  # another process wrote it down this minute
    except Exception:  # noqa: BLE001 - a note must never break the call it came with
        return
    _notes.submit(_store_rate_limit, info, timezone.now())


def _store_rate_limit(info: RateLimitHeader, seen_at: datetime) -> None:
    until = None
    if info.until:
        until = datetime.fromisoformat(info.until).astimezone(UTC)
    try:
        TraktRateLimit.objects.update_or_create(
            pk=1,
            defaults={
                "name": info.name,
                "limit": info.limit,
                "remaining": info.remaining,
                "period": info.period,
                "until": until,
                "seen_at": seen_at,
            },
        )
    except DatabaseError:
        pass  # a busy or missing database costs this note, nothing else
    finally:
        connections.close_all()  # this thread's own connections only


# --- Logging once -------------------------------------------------------------------------------

_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    """A configuration problem is logged once per process, not at every call."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message)
