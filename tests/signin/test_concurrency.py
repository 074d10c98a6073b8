"""The sign-in under load, as deployed: 4 gunicorn workers (4 threads each) sharing Redis and
one database (a SQLite file; PostgreSQL in `make test`'s second run), signed in with the real
`manage.py trakt_login`, while 60 requests arrive at once and the token needs renewing.
"""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fake_upstream import TRAKT_SECRET, FakeUpstream
from tests.servers import empty_database, gunicorn, manage, redis_server

pytestmark = pytest.mark.both_databases

CALLERS = 60
PATHS = ["/api/watching", "/api/profile", "/api/stats", "/"]
# Makes the stored token look 8 days old, as after a week nobody visited: expired, so no
# request can go on with the old token while another renews it.
AGE_THE_TOKEN = """
from datetime import timedelta
from django.utils import timezone
from profile.models import TraktToken
now = timezone.now()
TraktToken.objects.filter(pk=1).update(
    issued_at=now - timedelta(days=8), expires_at=now - timedelta(days=1)
)
"""


@pytest.fixture
def database_url(request, tmp_path):
    """An empty database for the site: a SQLite file, or a new database on the throwaway
    PostgreSQL server with --postgres."""
    with empty_database(request, tmp_path, "site") as url:
        yield url


@pytest.fixture
def signed_in_site(database_url):
    """The fake Trakt (a private profile), Redis, and an env signed in with trakt_login."""
    with FakeUpstream(private_user=True, device_interval=1) as fake, redis_server() as cache_url:
        env = fake.env() | {
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            # Every /api/watching asks Trakt: no single flight in the cache to hide behind.
            "WATCHING_CACHE_SECONDS": "0",
        }
        for command in (["migrate", "--noinput"], ["trakt_login"]):
            done = manage(env, *command)
            assert done.returncode == 0, done.stdout + done.stderr
        assert "Signed in as @sean; the token is renewed automatically." in done.stdout
        aged = manage(env, "shell", "-c", AGE_THE_TOKEN)
        assert aged.returncode == 0, aged.stderr
        fake.tokens.expire_all()  # at Trakt too
        yield fake, env


def assert_no_secret_in(fake: FakeUpstream, *texts: str) -> None:
    everything = "\n".join(texts)
    for secret in fake.tokens.secrets_issued() | {TRAKT_SECRET}:
        assert secret not in everything


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def load(site_url: str) -> list[tuple[int, str]]:
    urls = [site_url + PATHS[i % len(PATHS)] for i in range(CALLERS)]
    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(fetch, urls))


def test_60_requests_over_4_workers_renew_an_expired_token_once(signed_in_site):
    fake, env = signed_in_site
    fake.set(auth_delay=0.5, rate_limit={"remaining": 480, "limit": 500})

    with gunicorn(env, workers=4, args=("--threads", "4")) as site:
        answers = load(site.url)
        workers_log = site.log_text()
    status = manage(env, "trakt_status")

    assert [code for code, _ in answers] == [200] * CALLERS, answers
    assert fake.calls("auth:/oauth/token") == 1
    assert fake.tokens.reused_refresh_tokens() == []
    assert fake.tokens.refused_calls == 0  # nobody called Trakt with the expired token
    assert workers_log.count("Renewed the Trakt sign-in of @sean") == 1
    assert "Traceback" not in workers_log
    assert_no_secret_in(fake, workers_log, status.stdout, *(body for _, body in answers))
    # Another process reads what the workers wrote down.
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Last renewal:    never" not in status.stdout
    assert "calls left per 300 s (AUTHED_API_GET_LIMIT)" in status.stdout


def test_a_refused_renewal_over_4_workers_is_signed_out_everywhere_and_logged_once(signed_in_site):
    fake, env = signed_in_site
    fake.set(refresh_fault="invalid_grant", auth_delay=0.5)

    with gunicorn(env, workers=4, args=("--threads", "4")) as site:
        answers = load(site.url)
        workers_log = site.log_text()
    status = manage(env, "trakt_status")

    for (code, body), path in zip(answers, PATHS * CALLERS, strict=False):
        if path == "/":
            assert code == 200
            assert "signed-out-note" in body
        else:
            assert code == 502
            assert json.loads(body)["error"]["code"] == "signed_out"
    assert fake.calls("auth:/oauth/token") == 1
    assert workers_log.count("Trakt refused to renew the sign-in") == 1
    assert "Traceback" not in workers_log
    assert_no_secret_in(fake, workers_log, status.stdout, *(body for _, body in answers))
    assert status.returncode == 1
    assert "SIGNED OUT:" in status.stdout
