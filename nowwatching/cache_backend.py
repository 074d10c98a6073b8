"""The shared cache (CACHE_URL=redis://...), which the site outlives.

django-redis does the talking: short socket timeouts, no retries (settings.CACHES), and
IGNORE_EXCEPTIONS for anything this class does not handle itself. What django-redis cannot
do alone is keep the site right while Redis is gone: ignored exceptions make `get` a miss
and `add` a refusal, so every caller would think another holds the single-flight lock, and
every request would pay a socket timeout. So this backend adds, in one place:

- a breaker per process: the first failure opens it (one warning), and from then on the
  cache calls go to this process's memory without touching the network; every
  RETRY_SECONDS one call tries Redis again (at most one short timeout), and the first that
  works closes it (one line: "back after N s");
- this process's memory as the fallback: every write also goes there, so what this
  process stored (answers, locks, rate-limit blocks) is still at hand when Redis goes;
  `add` there is atomic, so single flight holds per process during an outage.

`shared_cache_status()` says "ok" or "degraded", for /healthz.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

log = logging.getLogger("nowwatching.cache")

# A dead Redis costs one short timeout per this many seconds (per process), not per request.
RETRY_SECONDS = 5.0
# /healthz asks Redis itself (PING) when no cache call has reached it for this long.
HEALTH_PING_SECONDS = 5.0
FALLBACK_MAX_ENTRIES = 10_000


def _class_name(error: BaseException | None) -> str:
    return type(error).__name__ if error else "error"


class Breaker:
    """Closed while Redis answers; open (memory only) from the first failure until a retry,
    one caller at a time, reaches it again. One warning when it opens, one when it closes.

    The database has one too (nowwatching/databases/guard.py): `what` it guards, what each
    process does `meanwhile`, and how a failure is `described` in the warning."""

    def __init__(
        self,
        where: str,
        *,
        what: str = "The shared cache",
        meanwhile: str = "each process serves from its own memory",
        describe: Callable[[BaseException | None], str] = _class_name,
        logger: logging.Logger = log,
    ):
        self.where = where
        self.what, self.meanwhile, self.describe, self.log = what, meanwhile, describe, logger
        self._lock = threading.Lock()
        self.down_since: float | None = None  # monotonic; None while closed
        self._retry_at = 0.0
        self._probing_since: float | None = None  # a probe's start, until its outcome
        self.last_ok = 0.0  # monotonic time of the last call that reached Redis
        self.failures = 0  # calls that tried Redis and failed: each cost at most one timeout
        self.last_error: BaseException | None = None

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    def allows(self) -> bool:
        """May this call go to Redis? Always while closed; while open, one call per
        RETRY_SECONDS (the probe), the others go to memory."""
        if self.down_since is None:
            return True
        with self._lock:
            if self.down_since is None:
                return True
            now = time.monotonic()
            # A probe whose caller never told its outcome does not hold the others off forever.
            probing = self._probing_since is not None and now < self._probing_since + 30
            if probing or now < self._retry_at:
                return False
            self._probing_since = now
            return True

    def failed(self, error: BaseException | None) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = error
            self._probing_since = None
            self._retry_at = time.monotonic() + RETRY_SECONDS
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        self.log.warning(
            "%s at %s is unreachable (%s): %s and tries again every %g s.",
            self.what,
            self.where,
            self.describe(error),
            self.meanwhile,
            RETRY_SECONDS,
        )

    def succeeded(self) -> None:
        self.last_ok = time.monotonic()
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            down_for = time.monotonic() - self.down_since
            self.down_since = None
            self._probing_since = None
        self.log.warning("%s at %s is back after %.0f s.", self.what, self.where, down_for)


# Django makes a cache object per thread; the breaker and the memory are per process.
_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(location: str) -> Breaker:
    with _breakers_lock:
        if location not in _breakers:
            _breakers[location] = Breaker(_where(location))
        return _breakers[location]


def _where(location: str) -> str:
    # Host and port only: the URL may hold a password.
    try:
        parts = urlsplit(location)
        return f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else "(socket)"
    except ValueError:
        return "(unparsable CACHE_URL)"


# Writes go to Redis and to memory; reads go to memory only while Redis cannot be reached.
_WRITES = {"set", "set_many", "delete", "delete_many", "touch", "clear"}


class FallbackRedisCache(RedisCache):
    """django-redis, with a breaker and this process's memory as the fallback."""

    def __init__(self, server, params):
        super().__init__(server, params)
        location = server if isinstance(server, str) else ",".join(server)
        self.location = location
        self.breaker = _breaker_for(location)
        options = {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES, "CULL_FREQUENCY": 4}
        memory_params = {k: v for k, v in params.items() if k != "OPTIONS"} | {"OPTIONS": options}
        self.memory = LocMemCache(f"nowwatching-fallback:{location}", memory_params)

    def _call(self, name: str, *args, **kwargs):
        if not self.breaker.allows():
            return getattr(self.memory, name)(*args, **kwargs)
        try:
            # The client raises what RedisCache's own methods would ignore.
            result = getattr(self.client, name)(*args, **kwargs)
        except ConnectionInterrupted as interrupted:
            self.breaker.failed(interrupted.__cause__)
            return getattr(self.memory, name)(*args, **kwargs)
        except Exception:
            # Redis answered (a value that cannot be read, say): the connection is fine, and
            # a probe must not leave the breaker waiting for an outcome forever.
            self.breaker.succeeded()
            raise
        self.breaker.succeeded()
        if name in _WRITES:
            getattr(self.memory, name)(*args, **kwargs)
        return result

    def get(self, key, default=None, version=None, client=None):
        return self._call("get", key, default=default, version=version)

    def get_many(self, keys, version=None, client=None):
        return self._call("get_many", keys, version=version)

    def has_key(self, key, version=None, client=None):
        return self._call("has_key", key, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._call("set", key, value, timeout=timeout, version=version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, client=None):
        args = {"timeout": timeout, "version": version}
        if not self.breaker.allows():
            return self.memory.add(key, value, **args)
        try:
            added = self.client.add(key, value, **args)
        except ConnectionInterrupted as interrupted:
            self.breaker.failed(interrupted.__cause__)
            return self.memory.add(key, value, **args)
        except Exception:
            self.breaker.succeeded()  # as in _call: Redis answered
            raise
        self.breaker.succeeded()
        if added:
            # Memory may still hold an old copy (a lock from an outage): ours now.
            self.memory.set(key, value, **args)
        return added

    def delete(self, key, version=None, client=None):
        return self._call("delete", key, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None, client=None):
        result = self._call("set_many", data, timeout=timeout, version=version)
        return result or []  # django-redis answers None, Django's API a list of failures

    def delete_many(self, keys, version=None, client=None):
        return self._call("delete_many", keys, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None, client=None):
        return self._call("touch", key, timeout=timeout, version=version)

    def incr(self, key, delta=1, version=None, client=None, **kwargs):
        return self._call("incr", key, delta=delta, version=version)

    def decr(self, key, delta=1, version=None, client=None):
        return self._call("decr", key, delta=delta, version=version)

    def clear(self, client=None):
        return self._call("clear")

    def publish(self, channel: str, message: bytes) -> bool:
        """Publish on Redis's pub/sub (profile/live/push.py), under the breaker: False when
        Redis cannot be reached, and the caller tells its own process only."""
        if not self.breaker.allows():
            return False
        try:
            self.client.get_client(write=True).publish(channel, message)
        except (ConnectionInterrupted, RedisError, OSError) as error:
            self.breaker.failed(error)
            return False
        self.breaker.succeeded()
        return True

    def reachable(self) -> bool:
        """Is Redis answering? Known from the last call when recent; else one PING (under
        the breaker, so a dead Redis is asked at most every RETRY_SECONDS)."""
        if self.breaker.is_open:
            if not self.breaker.allows():
                return False
        elif time.monotonic() - self.breaker.last_ok < HEALTH_PING_SECONDS:
            return True
        try:
            self.client.get_client(write=False).ping()
        except ConnectionInterrupted as interrupted:
            self.breaker.failed(interrupted.__cause__)
            return False
        except (RedisError, OSError) as error:  # PING is redis-py's own, not wrapped
            self.breaker.failed(error)
            return False
        self.breaker.succeeded()
        return True


class ObjectsInMemoryCache(LocMemCache):
    """LocMemCache that keeps the objects themselves, not pickles of them: reading one costs
    no unpickling. Only for values nobody changes once stored (the frozen answers that
    profile/live/cache.py keeps in each process's "local" cache, read on nearly every request)."""

    def make_and_validate_key(self, key, version=None):
        # Our own keys, never sent to memcached: its key rules need no checking on every read.
        return self.make_key(key, version=version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._set(key, value, timeout)
                return True
            return False

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            self._cache.move_to_end(key, last=False)
            return self._cache[key]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            self._set(key, value, timeout)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key {key!r} not found")
            self._cache[key] += delta
            self._cache.move_to_end(key, last=False)
            return self._cache[key]


def shared_cache_down() -> bool:
    """Whether this process finds the shared Redis unreachable now (a breaker is open)."""
    with _breakers_lock:
        return any(breaker.is_open for breaker in _breakers.values())


def shared_cache_status() -> str:
    """ "ok", or "degraded" while the shared cache cannot be reached (each process then
    serves from its own memory). A cache that is not shared is always "ok"."""
    cache = caches["default"]
    if isinstance(cache, FallbackRedisCache) and not cache.reachable():
        return "degraded"
    return "ok"
