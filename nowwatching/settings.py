"""All settings come from the environment, `.env.local` and `.env` (in that order of
precedence), with safe development defaults. `.env.example` lists every variable."""

import re
import secrets
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import environ
from corsheaders.defaults import default_headers
from csp.constants import NONE, SELF
from redis.backoff import NoBackoff
from redis.retry import Retry

from nowwatching.databases import config as database_config
from nowwatching.startup import config_error

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# read_env never overwrites a variable that is already set, so the real environment
# wins over .env.local, which wins over .env.
for name in (".env.local", ".env"):
    if (BASE_DIR / name).is_file():
        environ.Env.read_env(BASE_DIR / name)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """Like env.bool, but a typo ("ture") is a startup error, not a silent False.
    An empty value (as in a copied .env.example) means the default."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise config_error(
        f"{name} must be true or false, not {raw!r}.",
        f"Set {name} to true or false (or leave it empty for {str(default).lower()})",
        f"{name}={str(default).lower()}",
    )


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default="").strip() or str(default)
    fix = f"Set {name} to a whole number of at least {minimum} (or leave it empty for {default})"
    try:
        value = int(raw)
    except ValueError:
        raise config_error(
            f"{name} must be a whole number, not {raw!r}.", fix, f"{name}={default}"
        ) from None
    if value < minimum:
        raise config_error(
            f"{name} must be at least {minimum}, not {value}.", fix, f"{name}={default}"
        )
    return value


def env_url(name: str, default: str) -> str:
    url = (env.str(name, default="").strip() or default).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise config_error(
            f"{name} must be an http(s) URL, not {url!r}.",
            f"Set {name} to a full address with http:// or https:// (or leave it empty for "
            "the default)",
            f"{name}={default}",
        )
    return url


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise config_error(
            "SECRET_KEY is not set, and a server with DEBUG off needs its own.",
            "Set SECRET_KEY to a long random value of your own in .env.local or the "
            "environment, and keep it secret (`make run` writes one into .env.local)",
            # A fresh value, ready to paste; it is used nowhere.
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

# Empty (as in a copied .env.example) means the default, not "no host at all", which would
# answer every request with 400.
ALLOWED_HOSTS = [
    host.strip() for host in env.list("ALLOWED_HOSTS", default=[]) if host.strip()
] or ["localhost", "127.0.0.1", "[::1]"]

TIME_ZONE = env.str("TIME_ZONE", default="").strip() or "UTC"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise config_error(
        f"TIME_ZONE {TIME_ZONE!r} is not a known time zone.",
        "Set TIME_ZONE to an IANA time zone name (or leave it empty for UTC)",
        "TIME_ZONE=Europe/Lisbon",
    ) from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Trakt and TMDB -------------------------------------------------------------------

TRAKT_API_KEY = env.str("TRAKT_API_KEY", default="").strip()
# The app's secret: only needed to sign in (manage.py trakt_login) and to renew tokens.
TRAKT_CLIENT_SECRET = env.str("TRAKT_CLIENT_SECRET", default="").strip()
TRAKT_ACCESS_TOKEN = env.str("TRAKT_ACCESS_TOKEN", default="").strip()
TMDB_API_KEY = env.str("TMDB_API_KEY", default="").strip()
TMDB_READ_ACCESS_TOKEN = env.str("TMDB_READ_ACCESS_TOKEN", default="").strip()

# Trakt user slugs are letters, digits, dots, dashes and underscores, and may begin with an
# underscore ("_captain"). Anything else (".", "..", a "/", a "?") is refused here, before it
# can ever be spliced into an upstream URL (profile/client/schemas.py checks Trakt's slugs so).
TRAKT_USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
TRAKT_USERNAME = env.str("TRAKT_USERNAME", default="").strip()
if TRAKT_USERNAME and not TRAKT_USERNAME_PATTERN.fullmatch(TRAKT_USERNAME):
    raise config_error(
        "TRAKT_USERNAME may hold only letters, digits, '.', '-' and '_', beginning with a "
        "letter, a digit or '_' (at most 64 characters).",
        "Set TRAKT_USERNAME to the slug from your trakt.tv/users/<slug> address",
        "TRAKT_USERNAME=sean",
    )

TRAKT_API_URL = env_url("TRAKT_API_URL", "https://api.trakt.tv")
# Trakt's OAuth endpoints (device code, token, refresh, revoke) moved here in July 2026.
TRAKT_AUTH_URL = env_url("TRAKT_AUTH_URL", "https://auth.trakt.tv")
TMDB_API_URL = env_url("TMDB_API_URL", "https://api.themoviedb.org/3")
TMDB_IMAGE_URL = env_url("TMDB_IMAGE_URL", "https://image.tmdb.org/t/p")

# Demo mode is for an empty site only: with neither a Trakt key nor a username there is nothing
# real to show, so a fresh clone serves demo data. A username without a key is an owner with
# no Trakt API app (only VIP accounts may own one since July 2026): the site shows the
# history imported from Trakt's data export (`manage.py import_trakt_export`).
DEMO_MODE = env_bool("DEMO_MODE", not TRAKT_API_KEY and not TRAKT_USERNAME)
# No API app: nothing is asked of Trakt; the mirror comes from Trakt's data export.
EXPORT_ONLY = not DEMO_MODE and not TRAKT_API_KEY

# Combinations that cannot work stop start-up, rather than a page saying Trakt failed.
for _name, _value in (
    ("TRAKT_CLIENT_SECRET", TRAKT_CLIENT_SECRET),
    ("TRAKT_ACCESS_TOKEN", TRAKT_ACCESS_TOKEN),
):
    if _value and not TRAKT_API_KEY:
        raise config_error(
            f"{_name} is set, but TRAKT_API_KEY is not: every Trakt call needs the app's "
            "Client ID.",
            "Set TRAKT_API_KEY to the Client ID of the same app "
            "(https://trakt.tv/oauth/applications)",
            "TRAKT_API_KEY=<the Client ID: 64 letters and digits>",
        )
if not DEMO_MODE and not TRAKT_API_KEY and not TRAKT_USERNAME:
    raise config_error(
        "DEMO_MODE is false, but neither TRAKT_API_KEY nor TRAKT_USERNAME is set, so there is "
        "nothing to show.",
        "Set TRAKT_USERNAME to your Trakt username (and import your Trakt export), or "
        "TRAKT_API_KEY to your Trakt app's Client ID, or leave DEMO_MODE empty to serve the demo",
        "TRAKT_USERNAME=sean",
    )
# With an access token the profile is its owner's ("me"); with the app's secret the owner
# may sign in (`manage.py trakt_login`) and become "me". Else a username is the only way.
if not DEMO_MODE and not (TRAKT_USERNAME or TRAKT_ACCESS_TOKEN or TRAKT_CLIENT_SECRET):
    raise config_error(
        "TRAKT_API_KEY is set, but TRAKT_USERNAME is not set, so there is no profile to show.",
        "Set TRAKT_USERNAME to the slug from the trakt.tv/users/<slug> address of the profile "
        "to show",
        "TRAKT_USERNAME=sean",
    )

# How long one watching answer from Trakt may be reused; 0 asks Trakt every time.
WATCHING_CACHE_SECONDS = env_int("WATCHING_CACHE_SECONDS", 15)
# How often the site brings its mirror of the history up to date by itself; 0: only when
# `manage.py sync_trakt` runs.
HISTORY_SYNC_MINUTES = env_int("HISTORY_SYNC_MINUTES", 15)

# --- Media servers, notifications, friends ------------------------------------------------

# The secret in the webhooks' address (/hooks/plex/<token>): none of Plex, Jellyfin and Emby
# signs its requests. Empty: the hooks do not exist (404).
WEBHOOK_TOKEN = env.str("WEBHOOK_TOKEN", default="").strip()
WEBHOOK_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{24,256}")
if WEBHOOK_TOKEN and not WEBHOOK_TOKEN_PATTERN.fullmatch(WEBHOOK_TOKEN):
    # The value is never repeated: it is a secret.
    raise config_error(
        "WEBHOOK_TOKEN must be 24 to 256 letters, digits, '-' or '_' (it goes in a URL).",
        "Set WEBHOOK_TOKEN to a long random value, such as the one below",
        f"WEBHOOK_TOKEN={secrets.token_urlsafe(32)}",
    )
# The owner's account on the media server (Plex account title, Jellyfin or Emby user name),
# several if they differ: other users' plays on a shared server are ignored.
MEDIA_SERVER_USER = tuple(
    name.strip() for name in env.list("MEDIA_SERVER_USER", default=[]) if name.strip()
)
if WEBHOOK_TOKEN and not MEDIA_SERVER_USER:
    raise config_error(
        "WEBHOOK_TOKEN is set, but MEDIA_SERVER_USER is not: a media server sends the plays of "
        "all its users, and only the owner's may count.",
        "Set MEDIA_SERVER_USER to your account name on the media server (several, "
        "comma-separated, if Plex and Jellyfin know you by different names)",
        "MEDIA_SERVER_USER=sean",
    )

# Apprise URLs (https://github.com/caronc/apprise/wiki), comma-separated: each holds its
# target's secret, so none is ever repeated in a message or a log line.
NOTIFY_URLS = tuple(url.strip() for url in env.list("NOTIFY_URLS", default=[]) if url.strip())
if NOTIFY_URLS:
    import logging as _logging

    import apprise as _apprise

    _apprise_log = _logging.getLogger("apprise")
    _quiet, _apprise_log.disabled = _apprise_log.disabled, True  # it may echo a URL
    try:
        for _number, _url in enumerate(NOTIFY_URLS, start=1):
            if _apprise.Apprise.instantiate(_url) is None:
                _scheme = _url.split("://", 1)[0] if "://" in _url else ""
                raise config_error(
                    f"NOTIFY_URLS entry {_number} ({_scheme or 'no'} scheme) is not a URL "
                    "Apprise can send to.",
                    "Set NOTIFY_URLS to comma-separated Apprise URLs "
                    "(https://github.com/caronc/apprise/wiki)",
                    "NOTIFY_URLS=ntfys://ntfy.sh/my-topic,discord://webhook_id/webhook_token",
                )
    finally:
        _apprise_log.disabled = _quiet
# When to send word out: start and end of a play; pause (held a minute: a pause and resume
# within it is no message); friends (a friend starts watching, with FRIENDS on).
NOTIFY_EVENT_CHOICES = ("start", "end", "pause", "friends")
_notify_events = env.str("NOTIFY_EVENTS", default="").strip()
NOTIFY_EVENTS = frozenset(
    event.strip().lower() for event in (_notify_events or "start,end").split(",") if event.strip()
)
if not NOTIFY_EVENTS <= set(NOTIFY_EVENT_CHOICES):
    raise config_error(
        f"NOTIFY_EVENTS may hold only {', '.join(NOTIFY_EVENT_CHOICES)}, not "
        f"{', '.join(sorted(NOTIFY_EVENTS - set(NOTIFY_EVENT_CHOICES)))}.",
        "Set NOTIFY_EVENTS to a comma-separated list of those (or leave it empty for start,end)",
        "NOTIFY_EVENTS=start,end,pause",
    )
if _notify_events and not NOTIFY_URLS:
    raise config_error(
        "NOTIFY_EVENTS is set, but NOTIFY_URLS is not, so no word would go anywhere.",
        "Set NOTIFY_URLS to the Apprise URLs of your targets (or leave NOTIFY_EVENTS empty)",
        "NOTIFY_URLS=ntfys://ntfy.sh/my-topic",
    )

# Whose plays of the people the owner follows on Trakt show under the banner: off, all, or
# some of them by slug.
_friends = [slug.strip() for slug in env.list("FRIENDS", default=[]) if slug.strip()]
FRIENDS: str | tuple[str, ...] = "off"
if [slug.lower() for slug in _friends] in (["off"], ["all"]):
    FRIENDS = _friends[0].lower()
elif _friends:
    for _slug in _friends:
        if not TRAKT_USERNAME_PATTERN.fullmatch(_slug) or _slug.lower() in ("off", "all"):
            raise config_error(
                f"FRIENDS is off, all, or Trakt user slugs (letters, digits, '.', '-', '_'), "
                f"not {_slug[:64]!r}.",
                "Set FRIENDS to off, all, or a comma-separated list of the slugs of people you "
                "follow on Trakt",
                "FRIENDS=sam,alex",
            )
    FRIENDS = tuple(dict.fromkeys(_friends))
if FRIENDS != "off" and (DEMO_MODE or EXPORT_ONLY):
    raise config_error(
        "FRIENDS is on, but DEMO_MODE is too: the demo follows nobody."
        if DEMO_MODE
        else "FRIENDS is on, but TRAKT_API_KEY is not set: friends are asked through Trakt's API.",
        "Set TRAKT_API_KEY (a real profile), or FRIENDS=off",
        "FRIENDS=off",
    )
if "friends" in NOTIFY_EVENTS and FRIENDS == "off":
    raise config_error(
        "NOTIFY_EVENTS has friends, but FRIENDS is off: there are no friends to tell about.",
        "Set FRIENDS to all or to some slugs, or take friends out of NOTIFY_EVENTS",
        "FRIENDS=all",
    )

CACHE_SCHEMES = ("locmemcache", "redis", "rediss", "dummycache")
_cache_url = env.str("CACHE_URL", default="").strip() or "locmemcache://nowwatching"
if urlsplit(_cache_url).scheme not in CACHE_SCHEMES:
    # Only the scheme is named: the URL may hold a password.
    raise config_error(
        f"CACHE_URL must be a Redis or local-memory cache URL, not a {urlsplit(_cache_url).scheme or 'schemeless'!r} one.",
        "Set CACHE_URL to redis://host:port/db (several workers or machines) or leave it "
        "empty (one process)",
        "CACHE_URL=redis://127.0.0.1:6379/1",
    )
CACHES = {
    "default": environ.Env.cache_url_config(_cache_url),
    # Each process's own copy of the answers that are still fresh, so reusing one costs no
    # round trip to a shared cache, nor unpickling (profile/live/cache.py).
    "local": {
        "BACKEND": "nowwatching.cache_backend.ObjectsInMemoryCache",
        "LOCATION": "nowwatching-fresh",
        # The page's rendered history sections are kept here too (some 90 KB each with a long
        # history, a new key per mirror version): the least recently read go first.
        "OPTIONS": {"MAX_ENTRIES": 100},
    },
}


def redis_cache(location, options: dict | None = None) -> dict:
    """A shared Redis, asked with short timeouts and no retries, behind a breaker with this
    process's memory as the fallback (nowwatching/cache_backend.py): while Redis is down or
    stalled the site keeps serving, and a dead Redis costs one short timeout every few
    seconds, not one per request."""
    return {
        "BACKEND": "nowwatching.cache_backend.FallbackRedisCache",
        "LOCATION": location,
        "OPTIONS": (options or {})
        | {
            # Redis answers in well under a millisecond; a quarter second means it is gone.
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
            # No retries (redis-py's client alone would retry 10 times with backoff): one
            # attempt, and the breaker decides when to try again.
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
            # Anything the backend does not handle itself is a miss, never an exception.
            "IGNORE_EXCEPTIONS": True,
        },
    }


REDIS_BACKENDS = ("django_redis.cache.RedisCache", "django.core.cache.backends.redis.RedisCache")
if CACHES["default"]["BACKEND"] in REDIS_BACKENDS:
    CACHES["default"] = redis_cache(
        CACHES["default"]["LOCATION"], CACHES["default"].get("OPTIONS")
    ) | {key: value for key, value in CACHES["default"].items() if key == "KEY_PREFIX"}

# --- CORS -----------------------------------------------------------------------------

# The JSON API (and the card) is public and read-only: any origin may read /api/* with GET,
# without credentials, unless CORS_ALLOWED_ORIGINS names the only origins that may.
# Pages send no CORS headers.
CORS_ALLOWED_ORIGINS = [
    origin.strip() for origin in env.list("CORS_ALLOWED_ORIGINS", default=[]) if origin.strip()
]
for origin in CORS_ALLOWED_ORIGINS:
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or origin != f"{parts.scheme}://{parts.netloc}"
    ):
        raise config_error(
            "CORS_ALLOWED_ORIGINS holds origins like https://example.com (no path, no "
            f"trailing slash), not {origin!r}.",
            "Set CORS_ALLOWED_ORIGINS to a comma-separated list of origins (or leave it "
            "empty: any origin)",
            "CORS_ALLOWED_ORIGINS=https://me.example,https://blog.me.example",
        )
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_CREDENTIALS = False
# The request headers a preflight allows: django-cors-headers' defaults, and what a reader
# sends to revalidate (If-None-Match, which API_DOCUMENTATION.md tells clients to send, and
# If-Modified-Since) or to steer caches and languages.
CORS_ALLOW_HEADERS = (
    *default_headers,
    "accept-language",
    "cache-control",
    "if-modified-since",
    "if-none-match",
    "pragma",
)
# Scripts may read why to wait (429/503) and how old a stale answer is.
CORS_EXPOSE_HEADERS = ("ETag", "Retry-After", "Age")

# --- Django ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "profile",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside CommonMiddleware, so even the 400 for an unknown Host (raised there) and the
    # static files get the CSP and X-Frame-Options headers.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, so its redirects carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    # Outside ConditionalGetMiddleware (which makes the ETag of the uncompressed body), inside
    # WhiteNoise (which serves static files compressed already): nowwatching/compression.py.
    "nowwatching.compression.GZipMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Django's, with a cheaper hash for the ETag (nowwatching/etags.py).
    "nowwatching.etags.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "nowwatching.urls"
WSGI_APPLICATION = "nowwatching.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "profile.context_processors.site",
            ],
        },
    },
]

# SQLite in the project folder by default (no set-up); DATABASE_URL picks another file
# (sqlite:////var/lib/nowwatching/db.sqlite3) or PostgreSQL (postgres://user:pass@host/db).
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")
_database_url = (
    env.str("DATABASE_URL", default="").strip() or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
)
if urlsplit(_database_url).scheme not in DATABASE_SCHEMES:
    # Only the scheme is named: the URL holds the database's password.
    raise config_error(
        f"DATABASE_URL must be an sqlite:// or postgres:// URL, not a {urlsplit(_database_url).scheme or 'schemeless'!r} one.",
        "Set DATABASE_URL to a PostgreSQL or SQLite URL (or leave it empty for db.sqlite3 "
        "in the project folder)",
        "DATABASE_URL=postgres://nowwatching:password@127.0.0.1:5432/nowwatching",
    )
# Django's backends under a guard (nowwatching/databases/): calls bounded in time, a breaker.
DATABASES = {"default": database_config(_database_url)}

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        # No key, token or password in any line (nowwatching/redaction.py); making this
        # filter also redacts every record as it is made, for handlers not listed here.
        "redact_secrets": {"()": "nowwatching.redaction.installed_filter"},
        # An upstream failure is logged once, by profile.client, with its code; Django would
        # log the 502/503/504 it became a second time.
        "without_traceback": {"()": "nowwatching.redaction.WithoutTraceback"},
        # A Host not in ALLOWED_HOSTS: one line per host and hour naming the setting
        # (nowwatching/unknown_hosts.py), not Django's traceback.
        "once_per_unknown_host": {"()": "nowwatching.unknown_hosts.OncePerHost"},
        "not_an_upstream_failure": {
            "()": "django.utils.log.CallbackFilter",
            "callback": lambda record: getattr(record, "status_code", None) not in (502, 503, 504),
        },
    },
    # Every handler carries redact_secrets.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "profile": {"level": "INFO", "propagate": True},
        "django.request": {"filters": ["not_an_upstream_failure"]},
        # "Failed to parse headers (url=...)": an upstream's fault, in one line.
        "urllib3.connection": {"filters": ["without_traceback"]},
        # Scanners send random Host headers all day: each gets its 400, and a host is named
        # in the log at most once an hour (a few a minute at most), without a traceback.
        "django.security.DisallowedHost": {"filters": ["once_per_unknown_host"]},
        # Apprise logs its targets' URLs (their secrets) and every failed try; the site logs
        # one line per target that keeps failing instead (profile/live/notify.py).
        "apprise": {"level": "CRITICAL"},
    },
}

# --- Security (SECURITY.md says why each is set) -----------------------------------------


def content_security_policy(image_url: str) -> dict:
    """Everything from our own origin; images also from the TMDB image host and data: URLs
    (the owner's avatar, on whatever host Trakt names, is served from our own: /avatar). No
    inline script or style, no framing, no <base>, forms post only to us."""
    parts = urlsplit(image_url)
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "img-src": [SELF, "data:", f"{parts.scheme}://{parts.netloc}"],
            "script-src": [SELF],
            "style-src": [SELF],
            "object-src": [NONE],
            "frame-ancestors": [NONE],
            "base-uri": [NONE],
            "form-action": [SELF],
        }
    }


CONTENT_SECURITY_POLICY = content_security_policy(TMDB_IMAGE_URL)
# A CSRF failure (an unsafe method on an HTML page) gets our 403 page, not Django's.
CSRF_FAILURE_VIEW = "profile.errors.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
# Trakt, IMDb and TMDB links learn only that a visitor came from this site, not the page.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Behind a TLS-terminating proxy (SECURITY.md, "Deploying behind a TLS proxy").
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
# Preloading binds the whole registrable domain for months, so it is opt-in.
HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
if HTTPS_ONLY and DEBUG:
    # DEBUG pages show tracebacks and settings: never on a public server.
    raise config_error(
        "DEBUG must be false when HTTPS_ONLY is true: a public server never shows debug pages.",
        "Set DEBUG to false (or leave it empty)",
        "DEBUG=false",
    )
if HSTS_PRELOAD and not HTTPS_ONLY:
    raise config_error(
        "HSTS_PRELOAD needs HTTPS_ONLY=true: HSTS is sent only then.",
        "Set HTTPS_ONLY=true as well (behind a TLS proxy), or HSTS_PRELOAD=false",
        "HTTPS_ONLY=true",
    )
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    # A load balancer may probe liveness and readiness over plain HTTP from inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    # The proxy must set this header itself and drop any copy a client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = HSTS_PRELOAD
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
