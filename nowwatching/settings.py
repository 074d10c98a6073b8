"""All settings come from the environment, `.env.local` and `.env` (in that order of
precedence), with safe development defaults. `.env.example` lists every variable."""

import re
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

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
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default="").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return value


def env_url(name: str, default: str) -> str:
    url = (env.str(name, default="").strip() or default).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, not {url!r}.")
    return url


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Put a long random value in .env.local or the environment "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=true "
            "for a development-only key."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

TIME_ZONE = env.str("TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone.") from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Trakt and TMDB -------------------------------------------------------------------

TRAKT_API_KEY = env.str("TRAKT_API_KEY", default="").strip()
TRAKT_ACCESS_TOKEN = env.str("TRAKT_ACCESS_TOKEN", default="").strip()
TMDB_API_KEY = env.str("TMDB_API_KEY", default="").strip()
TMDB_READ_ACCESS_TOKEN = env.str("TMDB_READ_ACCESS_TOKEN", default="").strip()

# Trakt user slugs are letters, digits, dots, dashes and underscores. Anything else is
# refused here, before it can ever be spliced into an upstream URL.
TRAKT_USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TRAKT_USERNAME = env.str("TRAKT_USERNAME", default="").strip()
if TRAKT_USERNAME and not TRAKT_USERNAME_PATTERN.fullmatch(TRAKT_USERNAME):
    raise ImproperlyConfigured(
        "TRAKT_USERNAME may hold only letters, digits, '.', '-' and '_' "
        "(at most 64 characters): use the slug from your trakt.tv/users/<slug> address."
    )

TRAKT_API_URL = env_url("TRAKT_API_URL", "https://api.trakt.tv")
TMDB_API_URL = env_url("TMDB_API_URL", "https://api.themoviedb.org/3")
TMDB_IMAGE_URL = env_url("TMDB_IMAGE_URL", "https://image.tmdb.org/t/p")

# With no Trakt key there is nothing real to show, so a fresh clone serves demo data.
DEMO_MODE = env_bool("DEMO_MODE", not TRAKT_API_KEY)

# How long one watching answer from Trakt may be reused; 0 asks Trakt every time.
WATCHING_CACHE_SECONDS = env_int("WATCHING_CACHE_SECONDS", 15)

CACHES = {
    "default": environ.Env.cache_url_config(
        env.str("CACHE_URL", default="").strip() or "locmemcache://nowwatching"
    ),
    # Each process's own copy of the answers that are still fresh, so reusing one costs no
    # round trip to a shared cache (profile/services.py).
    "local": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "nowwatching-fresh",
    },
}

# --- Django ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "profile",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# No models of our own; SQLite keeps `migrate` and Django's checks happy at no cost.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

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
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"profile": {"level": "INFO", "propagate": True}},
}
