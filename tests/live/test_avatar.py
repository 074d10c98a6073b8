"""The owner's avatar, whatever host Trakt names (Gravatar for owners without an upload), is
served from the site's own address (/avatar): the page's Content-Security-Policy opens
img-src to no other host. Fetched through the one client, kept, capped, checked to be the
image it says it is."""

import re
import urllib.parse

import pytest

from profile.client import http as upstream_http
from tests.upstream import TRAKT, fixture

GRAVATAR = "https://secure.gravatar.com/avatar/0ba3f72910bdf3?d=mp&r=pg&s=256"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def profile_with(mock):
    def with_avatar(url: str | None):
        body = fixture("trakt_user_profile_extended_full.json")
        body["images"]["avatar"]["full"] = url
        mock.get(f"{TRAKT}/users/sean", json=body)
        mock.get(f"{TRAKT}/users/sean/watching", status=204)
        mock.get(f"{TRAKT}/users/sean/stats", json=fixture("trakt_user_stats.json"))
        mock.get(f"{TRAKT}/users/sean/history", json=[])
        return mock

    return with_avatar


def avatar_src(client) -> str:
    src = re.search(r'<img class="avatar" src="([^"]+)"', client.get("/").content.decode())[1]
    if not src.startswith("/static/"):
        assert urllib.parse.urlsplit(src).path == "/avatar", src  # the site's own address
    return src


def test_a_gravatar_is_shown_from_the_sites_own_address(client, profile_with):
    mock = profile_with(GRAVATAR)
    mock.get(GRAVATAR, body=PNG, content_type="image/png")

    src = avatar_src(client)
    first = client.get(src)
    again = client.get(src)

    assert urllib.parse.urlsplit(src).path == "/avatar"
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first.content == PNG
    assert "max-age" in first["Cache-Control"]
    assert again.content == PNG
    assert len([call for call in mock.calls if "gravatar" in call.request.url]) == 1  # kept


def test_the_policy_lets_images_come_from_no_other_host(client, profile_with):
    profile_with(GRAVATAR)

    policy = client.get("/")["Content-Security-Policy"]

    img_src = re.search(r"img-src ([^;]+)", policy)[1].split()
    assert img_src == ["'self'", "data:", "https://image.tmdb.org"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><script>alert(1)</script></html>"),
        ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'),
        ("image/png", b"<html>not a png at all</html>"),  # says PNG, is not
        ("image/jpeg", PNG),  # says JPEG, is a PNG
        ("image/png", b""),
        ("image/png", PNG + b"\0" * 600_000),  # larger than an avatar ever is
    ],
)
def test_anything_but_the_image_it_claims_to_be_is_not_served(
    client, profile_with, content_type, body
):
    profile_with(GRAVATAR).get(GRAVATAR, body=body, content_type=content_type)

    answer = client.get(avatar_src(client))

    assert answer.status_code == 404
    assert body[:20] not in answer.content or not body


def test_an_avatar_host_that_fails_gives_the_initials_a_chance(client, profile_with):
    profile_with(GRAVATAR).get(GRAVATAR, status=500)

    assert client.get(avatar_src(client)).status_code == 404


def test_without_a_kept_profile_nothing_is_fetched(client, mock):
    assert client.get("/avatar").status_code == 404
    assert not mock.calls


def test_the_demos_avatar_is_the_sites_own_file(client, settings):
    settings.DEMO_MODE = True

    assert avatar_src(client).startswith("/static/demo/avatar")


# --- Over real sockets: only public addresses, unless the operator configured the host --------


@pytest.fixture
def fake(reset_fake):
    return reset_fake


def test_the_fakes_own_host_as_configured_is_fetched(client, fake):
    fake.set(avatar="{url}/img/w185/face.png")

    answer = client.get(avatar_src(client))

    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert fake.images["/img/w185/face.png"] == 1


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "[::1]"])
def test_an_avatar_on_a_private_address_is_never_fetched(client, fake, host):
    # A host name nobody configured that leads to this machine (or its network).
    fake.set(avatar=f"http://{host}:{fake.port}/img/w185/face.png")

    answer = client.get(avatar_src(client))

    assert answer.status_code == 404
    assert not fake.images


def test_the_avatars_deadline_is_the_clients(monkeypatch):
    assert upstream_http.TOTAL_DEADLINE.get("avatar", 0) <= 3.0
