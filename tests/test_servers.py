"""The shared test servers work: the site under gunicorn against the fake, and Redis."""

import json
import urllib.request

import pytest

from tests.fake_upstream import FakeUpstream
from tests.servers import gunicorn, redis_server


@pytest.fixture
def fake():
    with FakeUpstream() as fake:
        yield fake


def test_gunicorn_serves_the_site_against_the_fake_upstream_through_redis(fake):
    with redis_server() as cache_url, gunicorn(fake.env() | {"CACHE_URL": cache_url}) as site:
        with urllib.request.urlopen(site.url + "/api/watching", timeout=20) as response:
            body = json.loads(response.read())

    assert body["content"]["title"] == "Super 8"
    assert fake.calls("trakt:") == 1
