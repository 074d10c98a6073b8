"""Each media server's body, checked at the boundary into one typed event: the shapes each
server really sends (tests/player.py, and a few variants seen in the wild), and the odd
values a template or a hostile client may put in them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from profile.live.sources import BadPayload, ExternalIds, Ignored, PlayerEvent, parse
from tests.player import EPISODE, HOME_VIDEO, MOVIE, SERVERS, Player

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def event_of(server: str, name: str, position: float = 0, item=MOVIE, user="sean"):
    content_type, body = Player(server, "t", item=item, user=user).body(name, position)
    if content_type.startswith("multipart/"):
        body = body.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]  # the payload field
    return parse(server.split("-")[0], body, NOW)


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("name", ["play", "pause", "resume", "stop", "progress"])
def test_every_event_of_every_server_is_one_typed_event(server, name):
    event = event_of(server, name, position=1234.5)

    assert isinstance(event, PlayerEvent)
    expected = {"jellyfin": {"resume": "progress"}}.get(server, {}).get(name, name)
    assert event.action == expected  # the official plugin has no resume: progress, unpaused
    assert event.user == "sean"
    assert event.item.title == "Super 8" and event.item.duration == 6720
    assert event.item.ids == ExternalIds(tmdb=37686, imdb="tt1650062")
    assert event.position == pytest.approx(1234.5, abs=0.001)
    assert event.received_at == NOW


@pytest.mark.parametrize("server", SERVERS)
def test_an_episode_names_its_show_season_and_number(server):
    event = event_of(server, "play", item=EPISODE)

    item = event.item
    assert (item.type, item.title, item.season, item.number) == ("episode", "Breaking Bad", 0, 2)
    assert item.subtitle == "S0E2 - Wedding Day"
    assert item.ids.tvdb == 3859791  # the episode's own
    if server == "jellyfin-nested":
        assert item.show_ids == ExternalIds(tmdb=1396, imdb="tt0903747", tvdb=81189)


def test_jellyfins_official_plugin_says_pause_only_as_a_paused_progress_report():
    paused = Player("jellyfin", "t").body("progress", 60, paused=True)[1]
    playing = Player("jellyfin", "t").body("progress", 60, paused=False)[1]

    assert parse("jellyfin", paused, NOW).action == "pause"
    assert parse("jellyfin", playing, NOW).action == "progress"


def test_dated_bodies_keep_their_own_time_for_ordering():
    assert event_of("jellyfin", "play").sent_at is not None
    assert event_of("emby", "play").sent_at is not None
    assert event_of("plex", "play").sent_at is None  # Plex sends none


def test_a_legacy_plex_agent_names_an_episode_by_its_shows_tvdb_id():
    body = {
        "event": "media.play",
        "Account": {"title": "sean"},
        "Metadata": {
            "type": "episode", "title": "Pilot", "grandparentTitle": "Old Show",
            "guid": "com.plexapp.agents.thetvdb://75159/1/3?lang=en", "duration": 1320000,
        },
    }  # fmt: skip

    item = parse("plex", json.dumps(body).encode(), NOW).item

    assert (item.season, item.number) == (1, 3)
    assert item.show_ids == ExternalIds(tvdb=75159)
    assert item.ids == ExternalIds()


def test_a_template_may_send_numbers_and_booleans_as_strings_or_leave_them_empty():
    body = {
        "NotificationType": "PlaybackStop", "NotificationUsername": "sean", "ItemType": "Movie",
        "Name": 1917, "Year": "2019", "RunTimeTicks": "71160000000",
        "PlaybackPositionTicks": "70000000000", "PlayedToCompletion": "True",
        "SeasonNumber": "", "EpisodeNumber": "", "Provider_imdb": "tt8579674",
        "Provider_tmdb": "not a number", "UtcTimestamp": "2026-11-23T20:00:00.1234567Z",
    }  # fmt: skip

    event = parse("jellyfin", json.dumps(body).encode(), NOW)

    assert event.item.title == "1917" and event.item.year == 2019
    assert event.item.ids == ExternalIds(imdb="tt8579674")  # the odd TMDB id is left out
    assert event.position == 7000 and event.completed
    assert event.sent_at == datetime(2026, 11, 23, 20, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value", "read_as"),
    [
        ("RunTimeTicks", 2**70, None),  # beyond any real length: not a length at all
        ("RunTimeTicks", -5, None),
        ("RunTimeTicks", 1e400, None),
        ("Year", 12345, None),
        ("Name", "Super\x008\x1b[31m", "Super8[31m"),  # control characters go
        ("Name", "x" * 5000, "x" * 999 + "…"),
        ("Provider_imdb", "tt123; DROP TABLE", None),
        ("UtcTimestamp", "yesterday", None),
    ],
)
def test_odd_values_cost_that_value_not_the_body(field, value, read_as):
    _, raw = Player("jellyfin", "t").body("play", 60)
    body = json.loads(raw) | {field: value}
    if value == 1e400:
        raw = json.dumps(body).replace("Infinity", "1" + "0" * 400).encode()
    else:
        raw = json.dumps(body).encode()

    event = parse("jellyfin", raw, NOW)

    found = {
        "RunTimeTicks": event.item.duration,
        "Year": event.item.year,
        "Name": event.item.title,
        "Provider_imdb": event.item.ids.imdb,
        "UtcTimestamp": event.sent_at,
    }[field]
    assert found == read_as


@pytest.mark.parametrize(
    ("server", "body"),
    [
        ("plex", {"event": "media.play", "Metadata": {"type": "episode", "title": "No place"}}),
        ("emby", {"Event": "playback.start", "Item": {"Type": "Audio", "Name": "A song"}}),
        ("jellyfin", {"NotificationType": "PlaybackStart", "ItemType": "TvChannel"}),
        ("emby", {"Event": "library.new", "Item": {"Type": "Movie"}}),
    ],
)
def test_what_is_not_a_film_or_an_episode_playing_is_ignored(server, body):
    assert isinstance(parse(server, json.dumps(body).encode(), NOW), Ignored)


@pytest.mark.parametrize(
    ("server", "body"),
    [
        ("plex", {"event": "media.play", "Metadata": "a string"}),
        ("plex", {"event": ["media.play"]}),
        ("emby", {"Event": "playback.start", "Item": {"Type": "Movie", "ProviderIds": [1]}}),
        ("jellyfin", {"Event": "Play", "Item": {"Type": "Movie"}, "Session": 7}),
        ("jellyfin", {"NotificationType": "PlaybackStart", "ItemType": "x" * 100}),
        ("jellyfin", {"Something": "else"}),
    ],
)
def test_a_body_of_another_shape_is_bad(server, body):
    with pytest.raises(BadPayload):
        parse(server, json.dumps(body).encode(), NOW)


def test_a_home_video_without_ids_is_its_title_alone():
    item = event_of("emby", "play", item=HOME_VIDEO).item

    assert item.ids == ExternalIds() and item.key == "movie:Our Summer 2019"
