"""Every answer carries a strict CSP and the security headers; HTTPS_ONLY is deploy-clean."""

import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.servers import gunicorn
from tests.test_security_secrets import endpoints
from tests.test_settings import check

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def quiet_upstream(settings):
    # The pages need some answer from Trakt; "not configured" is the quickest one.
    settings.TRAKT_API_KEY = ""


# Every URL of the site (so pages merged later too) and the error pages; the SVG card has a
# stricter policy of its own (an image needs nothing but its inlined data: artwork).
SVG_CARD = "/api/watching.svg"


@pytest.mark.parametrize(
    "path", [p for p in endpoints() if p != SVG_CARD] + ["/no-such-page", "/api/no-such-endpoint"]
)
def test_every_page_gets_a_strict_content_security_policy(client, quiet_upstream, path):
    response = client.get(path)

    assert policy(response) == {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://image.tmdb.org"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
    assert "unsafe" not in response["Content-Security-Policy"]


def test_the_svg_card_allows_nothing_but_its_inlined_images(client, quiet_upstream):
    assert policy(client.get(SVG_CARD)) == {
        "default-src": ["'none'"],
        "img-src": ["data:"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
    }


def test_the_image_host_in_the_policy_comes_from_tmdb_image_url():
    code = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ["PATH"],
            "SECRET_KEY": "x",
            "TMDB_IMAGE_URL": "https://images.example.test:8443/t/p",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "'img-src': [\"'self'\", 'data:', 'https://images.example.test:8443']" in result.stdout


@pytest.mark.parametrize(
    ("path", "host"),
    [(path, "127.0.0.1") for path in [*endpoints(), "/no-such-page", "/api/no-such-endpoint"]]
    + [("/no-such-page", "attacker.example"), ("/api/watching", "attacker.example")],
)
def test_every_answer_has_the_security_headers(client, quiet_upstream, path, host):
    response = client.get(path, HTTP_HOST=host)

    for name, value in HEADERS.items():
        assert response[name] == value
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Set-Cookie" not in response  # no sessions, no CSRF token: nothing to steal


# --- HTTPS_ONLY ----------------------------------------------------------------------------

DEPLOY_ENV = {
    "PATH": os.environ["PATH"],
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DEBUG": "false",
    "ALLOWED_HOSTS": "nowwatching.example",
}


def check_deploy(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=DEPLOY_ENV | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("preload", ["false", "true"])
def test_with_https_only_the_deploy_check_reports_nothing(preload):
    result = check_deploy(HTTPS_ONLY="true", HSTS_PRELOAD=preload)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_without_https_only_the_deploy_check_names_what_is_missing():
    result = check_deploy(HTTPS_ONLY="false")

    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W016"):
        assert check_id in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HTTPS_ONLY": "true", "DEBUG": "true"}, "DEBUG must be false when HTTPS_ONLY is true"),
        ({"HTTPS_ONLY": "false", "HSTS_PRELOAD": "true"}, "HSTS_PRELOAD needs HTTPS_ONLY=true"),
        ({"HTTPS_ONLY": "yes please"}, "HTTPS_ONLY must be true or false"),
    ],
)
def test_contradictory_security_settings_are_refused_at_startup(env, message):
    result = check(**env)

    assert result.returncode != 0
    assert message in result.stderr


def fetch(url: str, headers: dict | None = None):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_https_only_behind_a_tls_proxy():
    with gunicorn({"HTTPS_ONLY": "true", "DEMO_MODE": "true"}, workers=1) as site:
        # Plain HTTP is sent to HTTPS...
        status, headers = fetch(f"{site.url}/api/watching")
        assert status == 301
        assert headers["Location"].startswith("https://127.0.0.1")

        # ...what the proxy marks as HTTPS is served, with HSTS for a year...
        status, headers = fetch(f"{site.url}/api/watching", {"X-Forwarded-Proto": "https"})
        assert status == 200
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"

        # ...and a load balancer may still probe liveness over plain HTTP.
        assert fetch(f"{site.url}/healthz")[0] == 200
