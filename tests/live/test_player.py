"""What a media server says plays: the rules of the player's record (every event, in order,
out of order, twice, and a stop that never came), and the one answer it makes with Trakt's
poll, as /api/watching, the card and /live show it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from profile.live import player
from profile.live.sources import ExternalIds, PlayerEvent, PlayerItem
from tests import mirror
from tests.conftest import WEBHOOK_TOKEN
from tests.contract import assert_matches_openapi
from tests.player import EPISODE, Player

T0 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
FILM = PlayerItem("movie", "Super 8", 2011, ids=ExternalIds(imdb="tt1650062"), duration=6720)
OTHER = PlayerItem("movie", "Heat", 1995, ids=ExternalIds(imdb="tt0113277"), duration=10200)


def event(action, at=0, position=None, item=FILM, sent=None, source="plex") -> PlayerEvent:
    """An event `at` seconds after T0 (`sent`: the body's own time, likewise)."""
    return PlayerEvent(
        source=source,
        action=action,
        user="sean",
        item=item,
        position=position,
        received_at=T0 + timedelta(seconds=at),
        sent_at=None if sent is None else T0 + timedelta(seconds=sent),
    )


def run(*events) -> tuple[player.Player, list[player.Change]]:
    kept, changes = None, []
    for each in events:
        kept, change = player.apply(kept, each)
        changes.append(change)
    return kept, changes


# --- The rules ------------------------------------------------------------------------------------


def test_play_pause_resume_stop_each_change_the_play():
    kept, changes = run(
        event("play", 0, position=0),
        event("pause", 600, position=600),
        event("resume", 900, position=600),
        event("stop", 1200, position=900),
    )

    assert [change.kind for change in changes] == ["started", "paused", "resumed", "stopped"]
    assert kept.play is None and kept.stopped.key == "plex:movie:imdb:tt1650062"
    assert changes[1].play.paused and changes[1].play.position == 600
    assert changes[2].play.at == T0 + timedelta(seconds=900)


def test_without_a_position_the_player_is_reckoned_to_have_moved_on():
    _, changes = run(event("play", 0, position=100), event("pause", 60))

    assert changes[1].play.position == 160


def test_the_same_event_twice_only_moves_the_position_on():
    _, changes = run(event("play", 0, position=0), event("play", 30, position=31))

    assert [change.kind for change in changes] == ["started", "moved"]
    assert changes[1].play.started_at == T0
    assert not changes[1].shows  # open pages need not hear of it...
    _, seek = run(event("play", 0, position=0), event("progress", 30, position=3000))
    assert seek[1].jumped and seek[1].shows  # ...unless the viewer skipped ahead


def test_a_pause_repeated_while_paused_keeps_when_it_paused():
    _, changes = run(event("play", 0, 0), event("pause", 60, 60), event("pause", 90, 60))

    assert changes[2].kind == "moved"
    assert changes[2].play.paused_since == T0 + timedelta(seconds=60)


def test_another_title_replaces_the_play_at_once():
    _, changes = run(event("play", 0, 0), event("play", 60, 0, item=OTHER))

    assert changes[1].kind == "started" and changes[1].play.item == OTHER


def test_a_pause_of_something_not_known_to_play_starts_it_paused():
    kept, changes = run(event("pause", 0, position=300))

    assert changes[0].kind == "started" and kept.play.paused


def test_a_stop_of_something_else_or_of_nothing_changes_nothing():
    kept, changes = run(event("stop", 0, 10), event("play", 5, 0), event("stop", 9, 9, OTHER))

    assert [change.kind for change in changes] == ["ignored", "started", "ignored"]
    assert kept.play.item == FILM


def test_a_late_pause_sent_before_the_stop_cannot_bring_the_play_back():
    # Plex sends no time of its own: for a minute after a stop, only a new play counts.
    kept, changes = run(
        event("play", 0, 0), event("stop", 60, 60), event("pause", 61, 58), event("play", 70, 0)
    )

    assert [change.kind for change in changes] == ["started", "stopped", "ignored", "started"]
    assert changes[2].reason == "older than what is known"
    assert changes[3].again  # the same film again within a minute: no new "started" message


def test_a_film_played_again_after_its_stop_can_be_paused_at_once():
    # Stopped and started again within the minute: the pause is the new play's, not a late
    # one of the play that stopped.
    kept, changes = run(
        event("play", 0, 0), event("stop", 60, 60), event("play", 70, 0), event("pause", 80, 10)
    )

    assert [change.kind for change in changes] == ["started", "stopped", "started", "paused"]
    assert kept.play.paused


def test_with_the_bodys_own_time_order_is_the_senders():
    # Jellyfin and Emby date their bodies: the stop was sent after the progress report
    # that arrived last, so the report is stale, and so is one sent before a later report.
    kept, changes = run(
        event("play", 0, 0, sent=0, source="jellyfin"),
        event("progress", 20, 20, sent=20, source="jellyfin"),
        event("progress", 21, 10, sent=10, source="jellyfin"),
        event("stop", 30, 30, sent=30, source="jellyfin"),
        event("progress", 31, 25, sent=25, source="jellyfin"),
    )

    assert [change.kind for change in changes] == [
        "started", "moved", "ignored", "stopped", "ignored",
    ]  # fmt: skip
    assert kept.play is None


def test_a_stop_past_80_percent_is_watched_and_short_of_it_is_not():
    _, watched = run(event("play", 0, 0), event("stop", 10, position=5400))
    _, early = run(event("play", 0, 0), event("stop", 10, position=3000))
    _, completed = run(event("play", 0, 0), replace(event("stop", 10, 100), completed=True))

    assert watched[1].watched and completed[1].watched
    assert not early[1].watched


def test_a_player_gone_silent_is_forgotten_after_its_runtime_and_a_margin():
    kept, _ = run(event("play", 0, position=6000))  # 720 s left
    left = timedelta(seconds=720) + player.SILENT_MARGIN

    assert kept.playing(T0 + left) is not None
    assert kept.playing(T0 + left + timedelta(seconds=1)) is None
    paused, _ = run(event("pause", 0, position=6000))
    assert paused.playing(T0 + timedelta(seconds=6720) + player.SILENT_MARGIN) is not None


def test_a_player_that_does_not_say_how_long_gets_the_usual_length():
    short = replace(FILM, duration=None)
    kept, _ = run(event("play", 0, position=0, item=short))

    assert kept.play.duration == player.DEFAULT_RUNTIME["movie"].total_seconds()


# --- The record, as the site shows it -------------------------------------------------------------


def api(client) -> dict:
    response = client.get("/api/watching")
    assert_matches_openapi(response, "/api/watching")
    return response.json()


@pytest.fixture
def at():
    with time_machine.travel(T0, tick=False) as traveller:
        yield lambda seconds: traveller.move_to(T0 + timedelta(seconds=seconds))


def test_paused_stands_still_and_says_for_how_long(client, hooks, at):
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    hooks.settle()
    at(1344)
    plex.send(client, "pause", position=1344)  # 20 %
    at(1344 + 600)

    content = api(client)["content"]
    card = client.get("/api/watching.svg").content.decode()
    live = client.get("/live").json()["fragments"]["banner"]

    assert content["state"] == "paused"
    assert content["progress"]["percentage"] == 20
    assert content["progress"]["paused_at"] == "2026-11-23T20:22:24.000Z"
    assert content["progress"]["remaining_seconds"] == 6720 - 1344
    assert "Paused on Plex" in card and "Paused for 10 min" in card
    assert "Paused for 10 min" in live and "banner--paused" in live
    assert 'data-paused-at="2026-11-23T20:22:24.000Z"' in live

    at(1344 + 700)
    plex.send(client, "resume", position=1344)
    at(1344 + 760)
    resumed = api(client)["content"]
    assert resumed["state"] == "playing" and resumed["progress"]["percentage"] == 20
    assert resumed["progress"]["remaining_seconds"] == 6720 - 1344 - 60


def test_the_players_position_is_the_progress_not_trakts_estimate(client, hooks, at):
    hooks.set(watching="movie", started_minutes_ago=100)  # Trakt: 89 % of Super 8
    Player("jellyfin", WEBHOOK_TOKEN).send(client, "play", position=672)  # the player: 10 %

    content = api(client)["content"]

    assert content["source"] == "jellyfin"
    assert content["progress"]["percentage"] == 10


def test_a_stop_ends_the_play_at_once_and_trakts_late_report_cannot_bring_it_back(
    client, hooks, at
):
    hooks.set(watching="movie", started_minutes_ago=2)  # Trakt reports the same film
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    hooks.settle()
    at(5500)
    plex.send(client, "stop", position=5500)  # 81 %

    assert api(client) == {"isWatching": False}
    line = client.get("/live").json()["fragments"]["last-watched"]
    assert "Last watched: <strong>Super 8</strong>" in line
    at(5520)  # Trakt is asked again: still reports the film it started before the stop
    assert api(client) == {"isWatching": False}


def test_a_stop_short_of_80_percent_is_not_last_watched(client, hooks, at):
    plex = Player("plex", WEBHOOK_TOKEN)
    plex.send(client, "play", position=0)
    at(600)
    plex.send(client, "stop", position=600)

    assert "Super 8" not in client.get("/live").json()["fragments"]["last-watched"]


def test_a_lost_stop_cannot_pin_the_banner(client, hooks, at):
    Player("emby", WEBHOOK_TOKEN).send(client, "play", position=6000)  # 12 min left
    at(720 + player.SILENT_MARGIN.total_seconds() - 1)
    assert api(client)["content"]["state"] == "finishing"

    at(720 + player.SILENT_MARGIN.total_seconds() + 1)
    assert api(client) == {"isWatching": False}


def test_a_checkin_on_trakt_begun_after_the_player_last_spoke_wins(client, hooks, at):
    Player("plex", WEBHOOK_TOKEN, item=EPISODE).send(client, "pause", position=600)
    at(3600)
    hooks.set(watching="checkin", started_minutes_ago=1)  # a check-in of Super 8, a minute ago

    content = api(client)["content"]

    assert (content["title"], content["source"], content["action"]) == (
        "Super 8", "trakt", "checkin",
    )  # fmt: skip


def test_the_same_title_on_trakt_leaves_the_players_version(client, hooks, at):
    Player("plex", WEBHOOK_TOKEN).send(client, "pause", position=600)
    hooks.settle()
    at(60)
    hooks.set(watching="movie", started_minutes_ago=0)  # Trakt's scrobble of the same film

    content = api(client)["content"]

    assert (content["source"], content["state"]) == ("plex", "paused")


@pytest.mark.parametrize("server", ["plex", "jellyfin", "jellyfin-nested", "emby"])
def test_an_episode_is_matched_by_its_own_ids_or_its_shows(client, hooks, server):
    Player(server, WEBHOOK_TOKEN, item=EPISODE).send(client, "play", position=60)
    hooks.settle()

    content = api(client)["content"]

    assert (content["title"], content["subtitle"]) == ("Breaking Bad", "S0E2 - Wedding Day")
    assert content["ids"] == {"trakt": 1, "tmdb": 1396, "imdb": "tt0903747"}
    assert content["links"]["trakt"].endswith("/shows/breaking-bad/seasons/0/episodes/2")
    assert content["images"]["still"]


# --- Without a Trakt API app: the mirror names what plays ---------------------------------------


@pytest.fixture
def export_only(hooks, settings):
    settings.TRAKT_API_KEY = ""
    settings.DEMO_MODE = False
    settings.EXPORT_ONLY = True
    return hooks


@pytest.mark.django_db(transaction=True)  # the follow-up reads the mirror from its own thread
@pytest.mark.parametrize("server", ["plex", "jellyfin", "emby"])
def test_an_export_only_site_names_the_play_from_its_imported_titles(client, export_only, server):
    film = mirror.title("Super 8", trakt_id=7011, slug="super-8-2011", imdb_id="tt1650062",
                        tmdb_id=37686, year=2011)  # fmt: skip
    show = mirror.show("Breaking Bad", trakt_id=1388, slug="breaking-bad", tmdb_id=1396)
    mirror.episode(show, 0, 2, title="Wedding Day", trakt_id=62133, tmdb_id=62133)

    Player(server, WEBHOOK_TOKEN).send(client, "play", position=60)
    export_only.settle()
    content = api(client)["content"]

    assert content["ids"] == {"trakt": film.trakt_id, "tmdb": 37686, "imdb": "tt1650062"}
    assert content["links"]["trakt"] == "https://trakt.tv/movies/super-8-2011"
    Player(server, WEBHOOK_TOKEN).send(client, "stop", position=600)
    Player(server, WEBHOOK_TOKEN, item=EPISODE).send(client, "play", position=60)
    export_only.settle()
    episode = api(client)["content"]
    assert episode["ids"]["trakt"] == show.trakt_id
    assert episode["links"]["trakt"].endswith("/shows/breaking-bad/seasons/0/episodes/2")
    assert export_only.calls("trakt:") == 0


@pytest.mark.django_db(transaction=True)
def test_an_export_only_site_shows_a_title_it_never_imported_by_the_players_ids(
    client, export_only
):
    Player("plex", WEBHOOK_TOKEN).send(client, "play", position=60)
    export_only.settle()
    content = api(client)["content"]

    assert (content["title"], content["ids"]["trakt"]) == ("Super 8", None)
    assert content["links"]["imdb"] == "https://www.imdb.com/title/tt1650062/"
    assert export_only.calls("trakt:") == 0
