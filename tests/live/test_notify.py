"""Word sent out through Apprise: to a loopback receiver over Apprise's json:// scheme, once
per start and end, debounced, retried in the background, a failing target logged once, and
its URL (which holds its secret) never in a log line."""

from __future__ import annotations

import base64
import logging

import pytest

from profile.live import friends, notify, player
from tests.conftest import NOTIFY_SECRET, WEBHOOK_TOKEN
from tests.player import EPISODE, Player
from tests.receiver import Receiver


@pytest.fixture
def receiver(hooks, settings, monkeypatch):
    receiver = Receiver()
    settings.NOTIFY_URLS = (receiver.url,)
    settings.NOTIFY_EVENTS = frozenset({"start", "end", "pause"})
    # A debounce and backoff of a moment, not a minute: the rules are the same.
    monkeypatch.setattr(notify, "DEBOUNCE_SECONDS", 0.3)
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", (0.05, 0.05, 0.05))
    notify.reset_targets()
    yield receiver
    assert notify.wait_for_notifications(timeout=30)
    receiver.server.shutdown()
    receiver.server.server_close()


def settled(hooks) -> None:
    hooks.settle()
    assert notify.wait_for_notifications(timeout=30)


def test_a_play_is_told_once_when_it_starts_and_once_when_it_ends(client, hooks, receiver):
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    plex.send(client, "play", position=5)  # the same event again: no second message
    plex.send(client, "progress", position=5000)
    settled(hooks)
    plex.send(client, "stop", position=6000)
    settled(hooks)

    assert receiver.titles() == ["Now watching: Super 8", "Finished: Super 8"]
    started, ended = receiver.messages
    assert "2011 · Movie · on Plex" in started["message"]
    assert "https://trakt.tv/movies/super-8-2011" in started["message"]
    assert "http://testserver/" in started["message"]  # the site (ALLOWED_HOSTS)
    assert "Watched to 89 %" in ended["message"]
    poster = started["attachments"][0]
    assert poster["mimetype"] == "image/png" and base64.b64decode(poster["base64"])


def test_a_pause_and_resume_within_the_debounce_is_no_message(client, hooks, receiver):
    jellyfin = Player("jellyfin-nested", WEBHOOK_TOKEN)
    jellyfin.send(client, "play", position=0)
    jellyfin.send(client, "pause", position=60)
    jellyfin.send(client, "resume", position=60)
    settled(hooks)

    assert receiver.titles() == ["Now watching: Super 8"]


def test_a_pause_that_lasts_is_told_once(client, hooks, receiver):
    emby = Player("emby", WEBHOOK_TOKEN)
    emby.send(client, "play", position=0)
    emby.send(client, "pause", position=60)
    emby.send(client, "pause", position=60)  # a paused player repeats itself
    settled(hooks)

    assert receiver.titles() == ["Now watching: Super 8", "Paused: Super 8"]


def test_a_stop_and_the_same_play_again_within_the_debounce_is_no_message(client, hooks, receiver):
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    plex.send(client, "stop", position=100)
    plex.send(client, "play", position=100)  # the player hiccuped
    settled(hooks)

    assert receiver.titles() == ["Now watching: Super 8"]
    assert player.shared().play is not None


def test_only_the_events_asked_for_are_told(client, hooks, receiver, settings):
    settings.NOTIFY_EVENTS = frozenset({"end"})
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    plex.send(client, "pause", position=10)
    plex.send(client, "stop", position=600)
    settled(hooks)

    assert receiver.titles() == ["Stopped: Super 8"]


def test_a_failing_target_is_retried_then_logged_once_without_its_url(
    client, hooks, receiver, caplog
):
    receiver.status = 500
    plex = Player("plex", WEBHOOK_TOKEN)
    with caplog.at_level(logging.DEBUG):
        plex.send(client, "play", position=0)
        settled(hooks)
        plex.send(client, "stop", position=6000)
        settled(hooks)

    warnings = [r.getMessage() for r in caplog.records if r.name == "profile.live.notify"]
    assert receiver.attempts == 2 * notify.TRIES  # each message tried TRIES times
    assert warnings == [
        "notification target 1 (JSON) failed 4 times; it is not said again until it works"
    ]
    assert not any(NOTIFY_SECRET in r.getMessage() for r in caplog.records)
    assert not any(r.name.startswith("apprise") for r in caplog.records)

    receiver.status = 200
    with caplog.at_level(logging.INFO):
        Player("plex", WEBHOOK_TOKEN, item=EPISODE).send(client, "play", position=0)
        settled(hooks)
    assert "notification target 1 (JSON) works again" in caplog.text
    assert receiver.titles() == ["Now watching: Breaking Bad S0E2 - Wedding Day"]


def test_no_target_no_work(client, hooks, settings, monkeypatch):
    settings.NOTIFY_URLS = ()
    monkeypatch.setattr(notify._notifier, "schedule", lambda *a: pytest.fail("scheduled"))

    Player("plex", WEBHOOK_TOKEN).send(client, "play", position=0)
    hooks.settle()


def test_a_friend_who_starts_watching_is_told_once(hooks, receiver, settings):
    settings.FRIENDS = "all"
    settings.NOTIFY_EVENTS = frozenset({"friends"})
    hooks.set(following=["sam"], friends_watching={"sam": "episode"})

    for slot in range(4):  # the follows, then sam three times: still the same episode
        friends.tick(now=1_790_000_000.0 + slot * friends.SLOT_SECONDS + 0.1)
    assert notify.wait_for_notifications(timeout=30)

    assert receiver.titles() == ["@sam is watching Breaking Bad S0E2 - Wedding Day"]
