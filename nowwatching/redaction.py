"""No secret in any log line, at any level, from any library.

The configured secrets (TRAKT_API_KEY, TRAKT_CLIENT_SECRET, TRAKT_ACCESS_TOKEN, TMDB_API_KEY,
TMDB_READ_ACCESS_TOKEN, SECRET_KEY, the passwords in DATABASE_URL and CACHE_URL) and any
secret learned at run time (`redact_also()`: an OAuth token read from the database, say)
are replaced by "[redacted]" in every log record: its message with its arguments, its
exception text and its stack. They are also caught percent-encoded, as they appear in a URL
(urllib3 logs whole URLs, TMDB's `api_key` included).

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
)

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


def _secrets_pattern() -> re.Pattern | None:
    global _pattern, _pattern_for
    with _lock:
        secrets = frozenset(configured_secrets() | _learned)
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
    pattern = _secrets_pattern()
    return text if pattern is None else pattern.sub(REDACTED, text)


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite `record` in place when any of its text holds a secret."""
    pattern = _secrets_pattern()
    if pattern is None:
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: the handler reports it, with the raw parts
        message = f"{record.msg!r} {record.args!r}"
        if pattern.search(message):
            record.msg, record.args = pattern.sub(REDACTED, message), ()
    else:
        if pattern.search(message):
            record.msg, record.args = pattern.sub(REDACTED, message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatted here so the secret never reaches a formatter; exc_info itself goes,
        # or a handler would format it again from the frames.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if pattern.search(text):
            record.exc_text, record.exc_info = pattern.sub(REDACTED, text), None
    if record.exc_text and pattern.search(record.exc_text):
        record.exc_text = pattern.sub(REDACTED, record.exc_text)
    if record.stack_info and pattern.search(record.stack_info):
        record.stack_info = pattern.sub(REDACTED, record.stack_info)


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
