"""POST /hooks/<server>/<token>: who may post, what a body may be, and what it answers.

The bodies come from the scripted player (tests/player.py), shaped like each server's real
ones; the site runs in-process against the loopback fake (the title lookups after the answer).
"""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from profile.api.openapi import openapi_document
from profile.live import resolve, webhooks
from tests.conftest import WEBHOOK_TOKEN
from tests.contract import assert_matches_openapi
from tests.player import HOME_VIDEO, MOVIE, SERVERS, Player

HOOK = "/hooks/{server}/{token}"


def watching(client) -> dict:
    response = client.get("/api/watching")
    assert_matches_openapi(response, "/api/watching")
    return response.json()


# --- The address is the secret --------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_a_play_from_each_server_is_accepted_and_shows_at_once(client, hooks, server):
    response = Player(server, WEBHOOK_TOKEN).send(client, "play", position=600)

    assert response.status_code == 202
    assert response.json() == {"accepted": True, "note": "started"}
    content = watching(client)["content"]
    assert content["title"] == "Super 8"
    assert content["source"] == server.split("-")[0]
    assert content["state"] == "playing"


def test_a_wrong_token_is_the_same_404_as_an_address_that_does_not_exist(client, hooks):
    nowhere = client.post("/nothing/here")
    for path in (
        f"/hooks/plex/{WEBHOOK_TOKEN[:-1]}x",
        f"/hooks/plex/{WEBHOOK_TOKEN}x",
        "/hooks/plex/x",
        f"/hooks/kodi/{WEBHOOK_TOKEN}",
    ):
        wrong = client.post(path, b"{}", content_type="application/json")

        assert wrong.status_code == 404
        assert wrong.content == nowhere.content
        assert wrong["Content-Type"] == nowhere["Content-Type"]
    assert watching(client) == {"isWatching": False}


def test_without_a_token_set_the_hooks_do_not_exist(client, hooks, settings):
    settings.WEBHOOK_TOKEN = ""

    for token in (WEBHOOK_TOKEN, "", "x"):
        assert client.post(f"/hooks/plex/{token}", b"{}", "application/json").status_code == 404


@pytest.mark.parametrize("method", ["get", "head", "put", "delete", "options"])
def test_another_method_says_nothing_either_even_with_the_right_token(client, hooks, method):
    response = getattr(client, method)(f"/hooks/emby/{WEBHOOK_TOKEN}")

    assert response.status_code == 404


def test_a_media_server_needs_no_csrf_token(hooks):
    strict = Client(enforce_csrf_checks=True)

    response = Player("emby", WEBHOOK_TOKEN).send(strict, "play", position=10)

    assert response.status_code == 202


def test_the_token_is_compared_in_constant_time(hooks, monkeypatch):
    compared = []
    monkeypatch.setattr(
        webhooks.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or a == b
    )

    assert webhooks.exists("plex", WEBHOOK_TOKEN)
    assert not webhooks.exists("plex", "guess")
    assert compared == [(WEBHOOK_TOKEN.encode(),) * 2, (b"guess", WEBHOOK_TOKEN.encode())]


# --- Whose plays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_another_users_play_is_ignored(client, hooks, server):
    response = Player(server, WEBHOOK_TOKEN, user="guest").send(client, "play", position=60)

    assert response.status_code == 202
    assert response.json() == {"accepted": False, "note": "another user's play"}
    assert watching(client) == {"isWatching": False}


def test_the_owner_may_have_a_name_per_server_in_any_case(client, hooks, settings):
    settings.MEDIA_SERVER_USER = ("sean", "Sean R")

    response = Player("jellyfin", WEBHOOK_TOKEN, user="SEAN r").send(client, "play", 60)

    assert response.json()["accepted"] is True


# --- Bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "content_type", "body", "says"),
    [
        ("jellyfin", "application/json", b"{not json", "not JSON"),
        ("emby", "application/json", b"[1, 2]", "not a JSON object"),
        ("jellyfin", "text/plain", b'{"NotificationType": 7}', "either Jellyfin"),
        ("emby", "application/json", b'{"Event": "playback.start"}', "without its Item"),
        ("plex", "application/json", b'{"event": "media.play"}', "without its Metadata"),
        ("plex", "application/json", b'{"Metadata": {}}', "not a Plex webhook"),
        ("jellyfin", "application/json", b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        ("emby", "application/json", b'{"Event": NaN}', "not JSON"),
        ("jellyfin", "application/json", b'{"Event": "Play", "Item": "\\ud800"}', "not JSON"),
        ("plex", "multipart/form-data; boundary=x", b"--x\r\nnonsense", "payload"),
    ],
)
def test_a_body_that_is_not_the_servers_is_a_400_that_says_why(
    client, hooks, server, content_type, body, says
):
    response = client.generic("POST", f"/hooks/{server}/{WEBHOOK_TOKEN}", body, content_type)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert says in response.json()["error"]["message"]


def test_a_plex_thumbnail_is_read_past_and_not_kept(client, hooks, monkeypatch):
    stored = []
    monkeypatch.setattr(
        "django.core.files.uploadhandler.MemoryFileUploadHandler.file_complete",
        lambda *args: stored.append(args),
    )

    response = Player("plex", WEBHOOK_TOKEN).send(client, "play", position=60)

    assert response.status_code == 202
    assert stored == []


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "sent"])
def test_a_body_over_the_cap_is_refused(client, hooks, declared):
    limit = webhooks.MAX_BODY_BYTES["jellyfin"]
    body = b'{"pad": "' + b"x" * limit + b'"}'
    extra = {} if declared else {"CONTENT_LENGTH": str(limit)}  # the client lies: reads stop

    response = client.generic(
        "POST", f"/hooks/jellyfin/{WEBHOOK_TOKEN}", body, "application/json", **extra
    )

    if declared:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
    else:
        assert response.status_code == 400  # only the declared length was read: not JSON


def test_events_that_say_nothing_about_what_plays_are_accepted_and_ignored(client, hooks):
    notes = []
    for server, content_type, body in (
        ("plex", "application/json", b'{"event": "library.new", "Metadata": {"type": "movie"}}'),
        ("emby", "application/json", b'{"Event": "system.webhooktest"}'),
        ("jellyfin", "text/plain", b'{"NotificationType": "ItemAdded", "ItemType": "Movie"}'),
        ("jellyfin", "text/plain", b'{"Event": "MarkPlayed", "Item": {"Type": "Movie"}}'),
        ("plex", "application/json", b'{"event": "media.play", "Metadata": {"type": "track"}}'),
    ):
        response = client.generic("POST", f"/hooks/{server}/{WEBHOOK_TOKEN}", body, content_type)
        assert response.status_code == 202
        notes.append(response.json()["note"])

    assert notes[1] == "Emby's test notification: the webhook works"
    assert notes[4] == "not a movie or an episode (track)"
    assert watching(client) == {"isWatching": False}


# --- Rate limits ----------------------------------------------------------------------------------


def test_each_server_is_rate_limited_on_its_own(client, hooks, time_machine):
    time_machine.move_to("2026-11-23 20:00:00Z", tick=False)
    player = Player("jellyfin", WEBHOOK_TOKEN)
    answers = [
        player.send(client, "progress", 60 + n).status_code for n in range(webhooks.RATE_LIMIT)
    ]

    refused = player.send(client, "progress", 100)
    other = Player("plex", WEBHOOK_TOKEN).send(client, "play", 100)

    assert set(answers) == {202}
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused["Retry-After"]) <= webhooks.RATE_WINDOW_SECONDS
    assert other.status_code == 202
    time_machine.move_to("2026-11-23 20:00:11Z", tick=False)
    assert player.send(client, "progress", 110).status_code == 202


# --- Answered at once -----------------------------------------------------------------------------


def test_the_answer_does_not_wait_for_trakt_or_tmdb(client, hooks, monkeypatch):
    looking_up = threading.Event()
    go_on = threading.Event()
    real = resolve.look_up

    def slow_lookup(item):
        looking_up.set()
        go_on.wait(timeout=30)
        return real(item)

    def lookups() -> int:
        return hooks.calls("trakt:/search") + hooks.calls("tmdb:")

    monkeypatch.setattr(resolve, "look_up", slow_lookup)
    try:
        response = Player("plex", WEBHOOK_TOKEN).send(client, "play", position=60)
        seen = watching(client)["content"]

        assert response.status_code == 202
        assert looking_up.wait(timeout=30)  # the lookup runs after the answer, and waits...
        assert seen["title"] == "Super 8" and seen["images"] == {}  # ...while the title shows
        assert seen["ids"]["trakt"] is None
        assert lookups() == 0  # nobody asked Trakt's lookup or TMDB for the answer
    finally:
        go_on.set()
    hooks.settle()
    looked_up = watching(client)["content"]
    assert looked_up["ids"] == {"trakt": 2, "tmdb": 37686, "imdb": "tt1650062"}
    assert looked_up["links"]["trakt"] == "https://trakt.tv/movies/super-8-2011"
    assert looked_up["images"]["poster"].endswith(".jpg")
    assert lookups() > 0


def test_a_title_without_any_id_shows_by_its_name_alone(client, hooks):
    Player("emby", WEBHOOK_TOKEN, item=HOME_VIDEO).send(client, "play", position=60)
    hooks.settle()

    content = watching(client)["content"]

    assert content["title"] == "Our Summer 2019"
    assert content["ids"] == {"trakt": None, "tmdb": None, "imdb": None}
    assert content["links"] == {"trakt": None, "imdb": None, "tmdb": None}
    assert content["images"] == {}
    assert not any(key.startswith("trakt:/search") for key in hooks.call_log())


def test_trakt_failing_the_lookup_leaves_the_players_own_ids(client, hooks):
    hooks.set(trakt_fault="500")

    Player("jellyfin", WEBHOOK_TOKEN, item=MOVIE).send(client, "play", position=60)
    hooks.settle()

    content = watching(client)["content"]
    assert content["ids"] == {"trakt": None, "tmdb": 37686, "imdb": "tt1650062"}
    assert content["links"]["imdb"] == "https://www.imdb.com/title/tt1650062/"
    assert content["links"]["tmdb"] == "https://www.themoviedb.org/movie/37686"
    assert content["images"]["poster"]  # TMDB still gave the artwork


# --- As the OpenAPI document says -----------------------------------------------------------------


def test_every_answer_of_the_hooks_is_the_documented_one(client, hooks, time_machine):
    time_machine.move_to("2026-11-23 20:15:00Z", tick=False)  # one rate-limit window
    post = openapi_document()["paths"][HOOK]["post"]
    example = post["requestBody"]["content"]["application/json"]["example"]
    url = f"/hooks/jellyfin/{WEBHOOK_TOKEN}"
    over_the_cap = b'{"pad": "' + b"x" * webhooks.MAX_BODY_BYTES["jellyfin"] + b'"}'

    answers = [
        client.post(url, example, content_type="application/json"),
        client.post(url, {"NotificationType": "ItemAdded"}, content_type="application/json"),
        client.post(url, b"[1]", content_type="application/json"),
        client.post("/hooks/jellyfin/x", example, content_type="application/json"),
        client.generic("POST", url, over_the_cap, "application/json"),
    ]
    for _ in range(webhooks.RATE_LIMIT):
        if (refused := client.post(url, example, content_type="application/json")).status_code == 429:  # fmt: skip
            break
    answers.append(refused)

    assert [answer.status_code for answer in answers] == [202, 202, 400, 404, 413, 429]
    assert answers[0].json() == {"accepted": True, "note": "started"}
    assert watching(client)["content"]["title"] == example["Name"]
    for answer in answers:
        assert_matches_openapi(answer, HOOK, "post")
