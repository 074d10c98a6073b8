"""400, 403, 404 and 500 are pages in the site's look (JSON under /api/), never a traceback."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from playwright.sync_api import Page

from tests.conftest import SECRETS

SECRET_KEY_VALUE = "insecure-key-for-tests-only"


def explode(request):
    raise RuntimeError(f"a bug that mentions {SECRETS[0]} and SECRET_KEY")


def forbidden(request):
    raise PermissionDenied("internal reason")


def inline_script(request):
    # What the CSP must block: proves the browser check below can fail.
    return HttpResponse("<!doctype html><title>x</title><script>document.title='ran'</script>")


def html_page(request):
    return HttpResponse("<!doctype html><title>page</title>")


# This module is also the URLconf of the tests below: the site's own, plus pages that fail.
urlpatterns = [
    path("boom", explode),
    path("api/boom", explode),
    path("forbidden", forbidden),
    path("inline-script", csrf_exempt(inline_script)),
    path("html-page", html_page),
    path("", include("nowwatching.urls")),
]
handler400 = "profile.errors.bad_request"
handler403 = "profile.errors.permission_denied"
handler404 = "profile.errors.page_not_found"
handler500 = "profile.errors.server_error"


@pytest.fixture
def site(settings, client):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    return client


def assert_in_the_sites_look(response, status: int, heading: str):
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f'<h1 id="error-title">{heading}</h1>' in html
    assert "css/site.css" in html and "css/errors.css" in html
    assert 'class="site-footer"' in html


def assert_reveals_nothing(response):
    seen = response.content.decode() + str(response.headers)
    for secret in (*SECRETS, SECRET_KEY_VALUE, "Traceback", "SECRET_KEY", "RuntimeError"):
        assert secret not in seen


def test_an_unknown_page_is_our_404(site):
    response = site.get("/no-such-page")

    assert_in_the_sites_look(response, 404, "Page not found")
    assert_reveals_nothing(response)


def test_a_failing_page_is_our_500_without_a_traceback(site):
    response = site.get("/boom")

    assert_in_the_sites_look(response, 500, "Server error")
    assert_reveals_nothing(response)


def test_an_unknown_host_is_our_400(site):
    response = site.get("/no-such-page", HTTP_HOST="attacker.example")

    assert_in_the_sites_look(response, 400, "Bad request")
    assert "attacker.example" not in response.content.decode()


def test_a_refused_request_is_our_403(site):
    response = site.get("/forbidden")

    assert_in_the_sites_look(response, 403, "Forbidden")
    assert "internal reason" not in response.content.decode()


def test_a_csrf_failure_is_our_403(site):
    response = Client(enforce_csrf_checks=True).post("/html-page")

    assert_in_the_sites_look(response, 403, "Forbidden")
    assert "CSRF" not in response.content.decode()


@pytest.mark.parametrize(
    ("request_path", "host", "status", "code"),
    [
        ("/api/no-such-endpoint", "127.0.0.1", 404, "not_found"),
        ("/api/boom", "127.0.0.1", 500, "server_error"),
        ("/api/watching", "attacker.example", 400, "bad_request"),
    ],
)
def test_api_errors_are_json(site, request_path, host, status, code):
    response = site.get(request_path, HTTP_HOST=host)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert_reveals_nothing(response)


def test_api_watching_errors_still_say_is_watching(site):
    response = site.get("/api/watching", HTTP_HOST="attacker.example")

    assert response.json()["isWatching"] is False


def test_the_500_page_survives_its_own_failure(site, settings, caplog):
    # Without collectstatic the hashed-file manifest is missing, so {% static %} fails.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = settings.BASE_DIR / "tests" / "no-such-static-root"

    response = site.get("/boom")

    assert response.status_code == 500
    assert response.content.decode() == "Something went wrong on our side. Please try again later."
    assert_reveals_nothing(response)
    assert "the 500 page could not be rendered" in caplog.text


# --- In a browser: the CSP holds and nothing on the error pages breaks it -------------------


class WatchedPage:
    """A page that records CSP violations: the DOM events and the console's errors."""

    def __init__(self, page: Page):
        self.page = page
        self.console_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )

    def violations(self) -> list[str]:
        found = self.page.evaluate("window.__violations")
        return found + [e for e in self.console_errors if "Content Security Policy" in e]


@pytest.fixture
def watched(page: Page) -> WatchedPage:
    return WatchedPage(page)


@pytest.mark.parametrize("url", ["/no-such-page", "/boom"])
def test_error_pages_load_in_a_browser_without_csp_violations(live_server, site, watched, url):
    watched.page.goto(live_server.url + url)

    assert watched.page.locator("h1").count() == 1
    assert watched.violations() == []
    # The stylesheets loaded: the error box is styled, not bare.
    radius = watched.page.eval_on_selector(".error", "e => getComputedStyle(e).borderTopLeftRadius")
    assert radius != "0px"


def test_the_browser_check_catches_an_inline_script(live_server, site, watched):
    watched.page.goto(live_server.url + "/inline-script")

    assert watched.page.title() == "x"  # the script was blocked
    assert any("script-src" in v for v in watched.violations())


# --- An unknown Host: one line that names the setting ------------------------------------------


@pytest.fixture
def host_lines(caplog):
    from nowwatching import unknown_hosts

    unknown_hosts.forget()
    caplog.set_level("WARNING", logger="django.security.DisallowedHost")

    def lines() -> list:
        return [r for r in caplog.records if r.name == "django.security.DisallowedHost"]

    yield lines
    unknown_hosts.forget()


def test_an_unknown_host_is_logged_once_naming_allowed_hosts(site, settings, host_lines):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

    for _ in range(5):
        assert site.get("/", HTTP_HOST="blog.example").status_code == 400
        assert site.get("/api/watching", HTTP_HOST="blog.example:8443").status_code == 400

    lines = host_lines()
    assert [line.levelname for line in lines] == ["WARNING", "WARNING"]
    first = lines[0].getMessage()
    assert "'blog.example'" in first
    assert "ALLOWED_HOSTS (localhost, 127.0.0.1)" in first
    assert "add it to ALLOWED_HOSTS" in first
    assert "'blog.example:8443'" in lines[1].getMessage()
    assert all(line.exc_info is None for line in lines)  # one line, no traceback


def test_unknown_hosts_are_logged_again_after_an_hour(site, host_lines):
    import time_machine

    with time_machine.travel("2026-01-01 12:00Z", tick=False) as clock:
        site.get("/", HTTP_HOST="blog.example")
        clock.shift(59 * 60)
        site.get("/", HTTP_HOST="blog.example")
        clock.shift(2 * 60)
        site.get("/", HTTP_HOST="blog.example")

    assert len(host_lines()) == 2


def test_a_scanner_with_many_hosts_cannot_flood_the_log(site, host_lines):
    for n in range(200):
        assert site.get("/", HTTP_HOST=f"scan{n}.example").status_code == 400

    lines = host_lines()
    assert 1 <= len(lines) <= 10


def test_a_hostile_host_header_is_logged_printable_and_short(site, host_lines):
    site.get("/", HTTP_HOST="evil\x1b[2J" + "x" * 500)

    message = host_lines()[0].getMessage()
    assert "\x1b" not in message
    assert len(message) < 400
