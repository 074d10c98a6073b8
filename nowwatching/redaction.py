"""No secret in any log line, at any level, from any library.

The configured secrets (TRAKT_API_KEY, TRAKT_CLIENT_SECRET, TRAKT_ACCESS_TOKEN, TMDB_API_KEY,
TMDB_READ_ACCESS_TOKEN, SECRET_KEY, WEBHOOK_TOKEN, the passwords in DATABASE_URL and
CACHE_URL, each of NOTIFY_URLS and the parts of it that may be its target's secret) and any
secret learned at run time (`redact_also()`: an OAuth token read from the database, say)
are replaced by "[redacted]" in every log record: its message with its arguments, its
exception text and its stack. They are also caught percent-encoded, as they appear in a URL
(urllib3 logs whole URLs, TMDB's `api_key` included). Whatever follows /hooks/<server>/ in a
line is redacted too, a wrong token as well as the right one (an access log names the path).

It happens twice over: `install()` wraps the log record factory, so a record is clean before
any handler sees it (ours, gunicorn's, a test's), and `RedactSecrets` is a filter on every
handler in settings.LOGGING, for a record that was changed after it was made.

    from nowwatching.redaction import redact_also
    redact_also(token.access_token)   # from now on never logged
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from urllib.parse import quote, quote_plus, unquote, urlsplit

REDACTED = "[redacted]"
# Shorter values are not treated as secrets: redacting a two-letter SECRET_KEY would garble
# every line, and no real key or token is that short.
MIN_LENGTH = 6
# Settings whose values are secrets; URLs whose passwords are.
SECRET_SETTINGS = (
    "TRAKT_API_KEY",
    "TRAKT_CLIENT_SECRET",
    "TRAKT_ACCESS_TOKEN",
    "TMDB_API_KEY",
    "TMDB_READ_ACCESS_TOKEN",
    "SECRET_KEY",
    "WEBHOOK_TOKEN",
)
# The webhooks' address with its token (the right one or a near miss): /hooks/plex/<token>.
_HOOK_PATH = re.compile(r"(/hooks/[A-Za-z]{1,16}/)[^/\s?#\"']+")
# Parts of an Apprise URL that are plainly no secret (`notify_url_secrets`).
_PLAIN_PART = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+|localhost|\d{1,5}|[a-z]{1,8}", re.IGNORECASE)

_lock = threading.Lock()
_learned: set[str] = set()
_pattern: re.Pattern | None = None
_pattern_for: frozenset[str] = frozenset()


def redact_also(value: str | None) -> None:
    """Never log `value` from now on (in this process): a token learned at run time."""
    if value and len(value) >= MIN_LENGTH:
        with _lock:
            _learned.add(value)


def configured_secrets() -> set[str]:
    """The secrets in the settings, as they are now (tests change them)."""
    from django.conf import settings

    if not settings.configured:
        return set()
    found = {getattr(settings, name, "") or "" for name in SECRET_SETTINGS}
    for database in getattr(settings, "DATABASES", {}).values():
        found.add(database.get("PASSWORD") or "")
    for cache in getattr(settings, "CACHES", {}).values():
        found |= _passwords(cache.get("LOCATION"))
        found.add(str((cache.get("OPTIONS") or {}).get("PASSWORD") or ""))
    for url in getattr(settings, "NOTIFY_URLS", ()):
        found |= notify_url_secrets(url)
    return {value for value in found if isinstance(value, str) and len(value) >= MIN_LENGTH}


def _passwords(location) -> set[str]:
    """The passwords in a cache's URL (or list of URLs), as written and decoded."""
    found = set()
    for each in location if isinstance(location, list | tuple) else [location]:
        if isinstance(each, str) and "://" in each:
            try:
                password = urlsplit(each).password or ""
            except ValueError:
                continue
            found |= {password, unquote(password)}
    return found


def notify_url_secrets(url: str) -> set[str]:
    """An Apprise URL, and each part of it that may be its target's secret: Apprise puts
    tokens anywhere (a Telegram bot token where a host would be, a Discord webhook's token in
    the path, an ntfy topic, a password). Left out, as plainly no secret and too common to
    redact from every line: host names and addresses, ports, query keys, and short lowercase
    words ("hook", "webhook")."""
    found = {url}
    rest = url.split("://", 1)[-1]
    for part in re.split(r"[/:@?&#,;]+", rest):
        value = unquote(part.split("=", 1)[-1])  # a query's value, not its key
        if not _PLAIN_PART.fullmatch(value):
            found.add(value)
    return found


def _secrets_pattern() -> re.Pattern | None:
    global _pattern, _pattern_for
    with _lock:
        # A secret once configured stays one: a thread still using the old key after the
        # settings changed (a test's, or a call that outlived its request) logs it redacted.
        _learned.update(configured_secrets())
        secrets = frozenset(_learned)
        if secrets != _pattern_for:
            forms = {form for secret in secrets for form in _forms(secret)}
            # Longest first, so a secret that contains another is replaced whole.
            alternatives = sorted(forms, key=len, reverse=True)
            _pattern = re.compile("|".join(map(re.escape, alternatives))) if forms else None
            _pattern_for = secrets
        return _pattern


def _forms(secret: str) -> set[str]:
    # As written, and as it appears in a URL's query or path.
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def redact(text: str) -> str:
    return _sub(_secrets_pattern(), text)


def _holds_secret(pattern: re.Pattern | None, text: str) -> bool:
    return (pattern is not None and pattern.search(text) is not None) or (
        "/hooks/" in text and _HOOK_PATH.search(text) is not None
    )


def _sub(pattern: re.Pattern | None, text: str) -> str:
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _HOOK_PATH.sub(rf"\1{REDACTED}", text)


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite `record` in place when any of its text holds a secret."""
    pattern = _secrets_pattern()
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: the handler reports it, with the raw parts
        message = f"{record.msg!r} {record.args!r}"
    if _holds_secret(pattern, message):
        record.msg, record.args = _sub(pattern, message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatted here so the secret never reaches a formatter; exc_info itself goes,
        # or a handler would format it again from the frames.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if _holds_secret(pattern, text):
            record.exc_text, record.exc_info = _sub(pattern, text), None
    if record.exc_text and _holds_secret(pattern, record.exc_text):
        record.exc_text = _sub(pattern, record.exc_text)
    if record.stack_info and _holds_secret(pattern, record.stack_info):
        record.stack_info = _sub(pattern, record.stack_info)


class RedactSecrets(logging.Filter):
    """A handler filter: the record goes on, without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install() -> None:
    """Redact every record as it is made, whoever makes it and whatever handles it."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def installed_filter() -> RedactSecrets:
    """The filter for settings.LOGGING; configuring logging installs the record factory too."""
    install()
    return RedactSecrets()


class WithoutTraceback(logging.Filter):
    """A logger filter: the record in one line. urllib3 warns about an upstream's malformed
    headers with a traceback of its own parsing; the client logs what the call became."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True
