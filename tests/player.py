"""A scripted media server for tests and the benchmark: webhook bodies shaped like the real
ones (Plex's multipart with its thumbnail, Jellyfin's two plugins, Emby), sent to the site.

    player = Player("plex", TOKEN)                       # the owner, watching Super 8
    player.send(client, "play", position=0)              # Django's test client
    player.post(site.url, "pause", position=600)         # a live server (urllib)
    Player("jellyfin-nested", TOKEN, item=EPISODE, user="guest").send(client, "stop", 2000)

Events: play, pause, resume, stop, progress (Plex: media.scrobble; Jellyfin's official
plugin: PlaybackProgress, `paused` saying whether it is). Bodies follow the shapes recorded
in upstream-more.md section 5 (Plex's webhook docs and payloads seen in the wild; the
official Jellyfin plugin's DataObjectHelpers; the unofficial plugin's DefaultFormat; Emby
4.8's).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

THUMB = b"\xff\xd8\xff\xe0" + b"\x00JFIF-thumbnail " * 2000  # a ~30 KB "JPEG" Plex attaches

TICKS = 10_000_000


@dataclass(frozen=True)
class Item:
    type: str  # movie | episode
    title: str  # the movie's, or the show's
    year: int | None
    duration: int  # seconds
    ids: dict = field(default_factory=dict)  # the movie's or the episode's own: imdb, tmdb, tvdb
    show_ids: dict = field(default_factory=dict)
    season: int | None = None
    number: int | None = None
    episode_title: str | None = None


# The fake upstream's film and episode (tests/fixtures/trakt_watching_*.json), as a media
# server would describe them.
MOVIE = Item("movie", "Super 8", 2011, 112 * 60, {"imdb": "tt1650062", "tmdb": 37686})
EPISODE = Item(
    "episode",
    "Breaking Bad",
    2008,
    45 * 60,
    {"tvdb": 3859791, "tmdb": 62133},
    {"tvdb": 81189, "imdb": "tt0903747", "tmdb": 1396},
    season=0,
    number=2,
    episode_title="Wedding Day",
)
# A home video: no id at all.
HOME_VIDEO = Item("movie", "Our Summer 2019", None, 48 * 60)

SERVERS = ("plex", "jellyfin", "jellyfin-nested", "emby")


@dataclass
class Player:
    server: str  # plex, jellyfin (the official plugin), jellyfin-nested (the other), emby
    token: str
    item: Item = MOVIE
    user: str = "sean"
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:24])

    @property
    def path(self) -> str:
        return f"/hooks/{self.server.split('-')[0]}/{self.token}"

    def body(self, event: str, position: float = 0, paused: bool = False) -> tuple[str, bytes]:
        """(content type, body) of one event."""
        return BODIES[self.server](self, event, position, paused)

    def send(self, client, event: str, position: float = 0, paused: bool = False):
        """Through Django's test client; the response."""
        content_type, body = self.body(event, position, paused)
        return client.generic("POST", self.path, body, content_type=content_type)

    def post(self, base_url: str, event: str, position: float = 0, paused: bool = False):
        """To a live server: (status, JSON answer or None)."""
        content_type, body = self.body(event, position, paused)
        request = urllib.request.Request(
            base_url + self.path, body, {"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None


# --- Plex -----------------------------------------------------------------------------------------

PLEX_EVENTS = {
    "play": "media.play",
    "pause": "media.pause",
    "resume": "media.resume",
    "stop": "media.stop",
    "progress": "media.scrobble",
}


def plex(player: Player, event: str, position: float, paused: bool) -> tuple[str, bytes]:
    item = player.item
    guids = [{"id": f"{kind}://{value}"} for kind, value in item.ids.items()]
    metadata = {
        "librarySectionType": "movie" if item.type == "movie" else "show",
        "ratingKey": "28841",
        "key": "/library/metadata/28841",
        "guid": f"plex://{item.type}/5d776b59ad5437001f79c6f8",
        "type": item.type,
        "title": item.episode_title if item.type == "episode" else item.title,
        "librarySectionTitle": "Movies" if item.type == "movie" else "TV Shows",
        "librarySectionID": 2,
        "contentRating": "PG-13",
        "summary": "A summary.",
        "audienceRating": 8.1,
        "viewOffset": int(position * 1000),
        "lastViewedAt": 1761917383,
        "year": item.year,
        "thumb": "/library/metadata/28841/thumb/1735787910",
        "art": "/library/metadata/28825/art/1759475153",
        "duration": item.duration * 1000,
        "addedAt": 1735787892,
        "updatedAt": 1735787910,
        "Guid": guids,
    }
    if item.type == "episode":
        metadata |= {
            "grandparentTitle": item.title,
            "grandparentGuid": "plex://show/5d9c090e705e7a001e6e94d8",
            "parentTitle": f"Season {item.season}",
            "parentIndex": item.season,
            "index": item.number,
            "grandparentYear": item.year,
        }
    payload = {
        "event": PLEX_EVENTS[event],
        "user": True,
        "owner": player.user == "sean",
        "Account": {"id": 1, "thumb": "https://plex.tv/users/1022b120ffbaa/avatar", "title": player.user},
        "Server": {"title": "Office", "uuid": "54664a3d8acc39983675640ec9ce00b70af9cc36"},
        "Player": {"local": True, "publicAddress": "200.200.200.200", "title": "Chrome",
                   "uuid": player.session},
        "Metadata": metadata,
    }  # fmt: skip
    return multipart(payload, "payload", thumb=event == "play")


def multipart(payload: dict, name: str, thumb: bool = False) -> tuple[str, bytes]:
    boundary = "------------------------e9b6fd531fc73c30"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
        f"Content-Type: application/json\r\n\r\n".encode()
        + json.dumps(payload).encode()
        + b"\r\n"
    ]
    if thumb:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="thumb"; '
            f'filename="thumb.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + THUMB
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


# --- Jellyfin -------------------------------------------------------------------------------------

OFFICIAL = {"play": "PlaybackStart", "pause": "PlaybackProgress", "resume": "PlaybackProgress",
            "progress": "PlaybackProgress", "stop": "PlaybackStop"}  # fmt: skip


def jellyfin(player: Player, event: str, position: float, paused: bool) -> tuple[str, bytes]:
    """The official plugin, Generic destination, "Send All Properties" (text/plain)."""
    item = player.item
    now = datetime.now(UTC)
    body = {
        "ServerId": "a1b2c3", "ServerName": "jelly", "ServerVersion": "10.10.3",
        "ServerUrl": "http://jelly:8096", "NotificationType": OFFICIAL[event],
        "Timestamp": now.isoformat(), "UtcTimestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        "Name": item.episode_title if item.type == "episode" else item.title,
        "Overview": "An overview.", "Tagline": "", "ItemId": "7a2b", "ItemType": item.type.title(),
        "RunTimeTicks": item.duration * TICKS, "RunTime": "01:52:00",
        "PlaybackPositionTicks": int(position * TICKS), "PlaybackPosition": "00:10:00",
        "MediaSourceId": "7a2b", "IsPaused": event == "pause" or paused, "IsAutomated": False,
        "DeviceId": player.session, "DeviceName": "Firefox", "ClientName": "Jellyfin Web",
        "PlayMethod": "DirectPlay", "NotificationUsername": player.user, "UserId": "u1",
        "LastLoginDate": now.isoformat(), "LastActivityDate": now.isoformat(),
        "Audio_0_Title": "English - AAC - Stereo", "Video_0_Codec": "h264",
    }  # fmt: skip
    if item.year:
        body["Year"] = item.year
    if item.type == "episode":
        body |= {"SeriesName": item.title, "SeriesId": "s1", "SeasonId": "s1s0",
                 "SeasonNumber": item.season, "SeasonNumber00": f"{item.season:02d}",
                 "EpisodeNumber": item.number, "EpisodeNumber00": f"{item.number:02d}"}  # fmt: skip
    body |= {f"Provider_{kind}": str(value) for kind, value in item.ids.items()}
    if event == "stop":
        body["PlayedToCompletion"] = position >= item.duration * 0.9
    return "text/plain; charset=utf-8", json.dumps(body).encode()


NESTED = {"play": "Play", "pause": "Pause", "resume": "Resume", "stop": "Stop",
          "progress": "Progress"}  # fmt: skip


def base_item(item: Item, server_id: str) -> dict:
    """The item as a BaseItemDto, Jellyfin's and Emby's (an episode's ids are its own; Emby's
    rarely hold TMDB's, upstream-more 5.3)."""
    dto = {
        "Name": item.episode_title if item.type == "episode" else item.title,
        "ServerId": server_id, "Id": "7a2b", "Type": item.type.title(),
        "RunTimeTicks": item.duration * TICKS, "ProductionYear": item.year,
        "ProviderIds": {kind.title(): str(value) for kind, value in item.ids.items()},
    }  # fmt: skip
    if item.type == "episode":  # ProductionYear: the episode's own
        dto |= {"SeriesName": item.title, "ParentIndexNumber": item.season,
                "IndexNumber": item.number, "ProductionYear": 2013}  # fmt: skip
    return dto


def jellyfin_nested(player: Player, event: str, position: float, paused: bool):
    """shemanaev/jellyfin-plugin-webhooks, "Default" format."""
    item = player.item
    dto = base_item(item, "a1b2c3")
    dto["UserData"] = {"PlaybackPositionTicks": int(position * TICKS), "Played": False}
    body = {
        "Event": NESTED[event],
        "Item": dto,
        "User": {"Name": player.user, "Id": "u1"},
        "Session": {"Id": player.session, "Client": "Jellyfin Web", "DeviceName": "Firefox",
                    "PlayState": {"PositionTicks": int(position * TICKS),
                                  "IsPaused": event == "pause" or paused}},
        "Server": {"Id": "a1b2c3", "Name": "jelly", "Version": "10.10.3"},
    }  # fmt: skip
    if item.type == "episode":
        body["Series"] = {
            "Name": item.title,
            "ProductionYear": item.year,
            "ProviderIds": {kind.title(): str(value) for kind, value in item.show_ids.items()},
        }
    return "application/json", json.dumps(body).encode()


# --- Emby -----------------------------------------------------------------------------------------

EMBY = {"play": "playback.start", "pause": "playback.pause", "resume": "playback.unpause",
        "stop": "playback.stop", "progress": "playback.progress"}  # fmt: skip


def emby(player: Player, event: str, position: float, paused: bool) -> tuple[str, bytes]:
    item = player.item
    now = datetime.now(UTC)
    dto = base_item(item, "e1")
    body = {
        "Title": f"{player.user} has started playing {item.title}",
        "Description": "", "Date": now.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"), "Event": EMBY[event],
        "User": {"Name": player.user, "Id": "u1"},
        "Item": dto,
        "Server": {"Name": "emby", "Id": "e1", "Version": "4.8.11.0"},
        "Session": {"RemoteEndPoint": "10.0.0.5", "Client": "Emby Web", "DeviceName": "Firefox",
                    "DeviceId": player.session, "ApplicationVersion": "4.8.11.0", "Id": "s1"},
        "PlaybackInfo": {"PlayedToCompletion": position >= item.duration * 0.9,
                         "PositionTicks": int(position * TICKS), "PlaylistIndex": 0,
                         "PlaylistLength": 1, "PlaySessionId": player.session},
    }  # fmt: skip
    return "application/json", json.dumps(body).encode()


BODIES = {"plex": plex, "jellyfin": jellyfin, "jellyfin-nested": jellyfin_nested, "emby": emby}
