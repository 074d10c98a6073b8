"""Fixtures for the caching tests: a real Redis, the loopback fake upstream, frozen time."""

import pytest
import redis

from nowwatching import settings as project_settings
from tests.servers import redis_server


@pytest.fixture(scope="session")
def redis_session():
    """One throwaway redis-server for the session (Debian's, installed by `make test`)."""
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_session):
    """The session's Redis, emptied for this test (and its gunicorn workers)."""
    client = redis.Redis.from_url(redis_session)
    client.flushdb()
    yield redis_session
    client.flushdb()
    client.close()


@pytest.fixture
def redis_cache(settings, redis_url):
    """This process's Django cache is Redis, as in a multi-process deployment (the backend
    and options CACHE_URL=redis://... gives)."""
    from django.core.cache import cache

    settings.CACHES = {**settings.CACHES, "default": project_settings.redis_cache(redis_url)}
    cache.clear()
    yield cache
    cache.clear()
