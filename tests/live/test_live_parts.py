"""/live: the profile page's live parts, rendered from the page's own partials, never waiting
on Trakt, and no more Trakt calls however many pages are open."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client

from profile.live import ended
from profile.live.cache import wait_for_refreshes
from profile.mirror import state as mirror_state
from profile.mirror import sync
from tests import mirror

START = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
RUNTIME = 112  # minutes: Super 8


@pytest.fixture
def clock():
    """Time stands still at START until moved; the refreshes started meanwhile end first."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
        assert wait_for_refreshes(timeout=30)


def film_ending_in(fake, seconds: float) -> datetime:
    """Trakt reports Super 8 ending `seconds` after START; its end time."""
    ends = START + timedelta(seconds=seconds)
    fake.set(started_at=(ends - timedelta(minutes=RUNTIME)).isoformat(), runtime_minutes=RUNTIME)
    return ends


def live(client, **headers) -> dict:
    response = client.get("/live", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def opened(client) -> str:
    """The page, as a visitor opens it (the answers it needs are kept from then on)."""
    html = client.get("/").content.decode()
    assert wait_for_refreshes(timeout=30)
    return html


def settled(client) -> dict:
    """/live once the refreshes it started have landed (what the page sees next)."""
    live(client)
    assert wait_for_refreshes(timeout=30)
    return live(client)


def banner_label(answer: dict) -> str | None:
    match = re.search(r'data-slot="label">([^<]*)<', answer["fragments"]["banner"])
    return unescape(match[1]) if match else None


def last_watched(answer: dict) -> str:
    html = answer["fragments"]["last-watched"]
    return "" if " hidden>" in html else unescape(re.sub(r"<[^>]+>", "", html))


# --- The same partials as the page ---------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["movie", "episode", "idle", "markup"])
def test_every_fragment_is_the_pages_own_markup(client, fake, clock, scenario):
    fake.set(watching=scenario, runtime_minutes=45 if scenario == "episode" else RUNTIME)
    page = client.get("/").content.decode()

    answer = live(client)

    for name, html in answer["fragments"].items():
        assert f'data-fragment="{name}"' in html
        assert html in page, name
    title = re.search(r"<title>(.*?)</title>", page, re.S)[1]
    assert answer["title"] == unescape(title).strip()
    assert f'data-poll-seconds="{answer["poll_seconds"]}"' in page


@pytest.mark.both_databases
def test_the_fragments_match_the_page_with_a_mirrored_history(client, fake, clock):
    film = mirror.title("Arrival", trakt_id=7)
    mirror.play(film, START - timedelta(hours=5))
    fake.set(watching="idle")
    page = client.get("/").content.decode()

    answer = live(client)

    assert answer["fragments"]["recent"] in page
    assert "Arrival" in answer["fragments"]["recent"]
    assert last_watched(answer) == ""  # the poster row says it


def test_the_title_and_announcement_follow_what_plays(client, fake, clock):
    opened(client)
    answer = live(client)
    assert answer["title"] == "Now watching: Super 8 · Sean Rudford"
    assert answer["announce"] == "Now watching Super 8"

    fake.set(watching="idle")
    clock.shift(16)
    answer = settled(client)
    assert answer["title"] == "Sean Rudford"
    assert answer["announce"] == "Nothing playing now"
    assert answer["fragments"]["banner"].count("<") == 2  # the empty slot


OFF_SITE = re.compile(
    r'href="https?://[^"]*(trakt\.tv/(movies|shows)|themoviedb\.org/(movie|tv)|imdb\.com/title)'
)


def test_demo_fragments_keep_their_placeholder_links(client, settings):
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = ""
    sync.sync(pace=False)
    client.get("/")

    answer = settled(client)

    assert "The Quiet Orbit" in answer["fragments"]["banner"]
    assert re.search(r"<a data-link=\"trakt\"[^>]*>", answer["fragments"]["banner"])
    assert "href" not in "".join(re.findall(r"<a data-link[^>]*>", answer["fragments"]["banner"]))
    everything = "".join(answer["fragments"].values())
    assert not OFF_SITE.search(everything)
    assert "Demo data" in answer["fragments"]["banner"]


@pytest.mark.both_databases
def test_the_demos_history_links_nowhere_for_its_made_up_ids(client, settings):
    settings.DEMO_MODE = True
    settings.TRAKT_API_KEY = ""
    sync.sync(pace=False)

    page = client.get("/").content.decode()
    year = client.get(f"/year/{START.year - 1}").content.decode()

    assert 'class="poster-card"' in page and 'class="ranked-row"' in page
    assert "episodes in a row" in year
    assert not OFF_SITE.search(page) and not OFF_SITE.search(year)


# --- Revalidation ----------------------------------------------------------------------------------


def test_an_unchanged_answer_is_a_304(client, fake, clock):
    opened(client)
    first = client.get("/live")
    etag = first["ETag"]

    again = client.get("/live", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert "no-cache" in first["Cache-Control"]


def test_a_change_is_a_200_with_a_new_etag(client, fake, clock):
    opened(client)
    etag = client.get("/live")["ETag"]
    fake.set(watching="idle")
    clock.shift(16)
    settled(client)

    changed = client.get("/live", headers={"If-None-Match": etag})

    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_head_answers_like_get_and_other_methods_are_refused(client, fake, clock):
    opened(client)  # the answers kept: /live's body stays the same from here on
    get = client.get("/live")
    head = client.head("/live")
    post = client.post("/live")

    assert head.status_code == 200 and head["ETag"] == get["ETag"] and head.content == b""
    assert client.head("/live", headers={"If-None-Match": get["ETag"]}).status_code == 304
    assert post.status_code == 405 and post["Allow"] == "GET, HEAD"


# --- Never waiting on Trakt --------------------------------------------------------------------------


def test_a_cold_cache_answers_at_once_with_the_skeleton_and_a_quick_second_look(client, fake):
    fake.set(watching_delay=2)

    answer = live(client)
    still_asking = not wait_for_refreshes(timeout=0)

    assert still_asking  # answered while Trakt had not
    assert "data-banner-skeleton" in answer["fragments"]["banner"]
    assert answer["poll_seconds"] == 2
    assert answer["announce"] == ""
    assert wait_for_refreshes(timeout=30)
    assert banner_label(live(client)) == "Now Watching"


def test_many_pages_on_a_cold_cache_start_one_fetch(fake):
    fake.set(watching_hold=True)  # Trakt answers only once every page has asked

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: Client().get("/live").json(), range(48)))
    fake.set(watching_hold=False)
    assert wait_for_refreshes(timeout=30)

    assert all("data-banner-skeleton" in a["fragments"]["banner"] for a in answers)
    assert fake.calls("trakt:/users/sean/watching") == 1


def test_with_reuse_off_every_answer_asks_trakt(client, fake, settings):
    settings.WATCHING_CACHE_SECONDS = 0

    answer = live(client)

    assert banner_label(answer) == "Now Watching"
    assert fake.calls("trakt:/users/sean/watching") == 1


def test_trakt_failing_with_nothing_kept_gives_the_page_a_quiet_minute(client, fake, clock):
    fake.set(trakt_fault="500")

    answer = settled(client)

    assert answer["fragments"]["banner"].count("<") == 2  # no banner, no skeleton
    assert answer["poll_seconds"] == 60
    assert answer["announce"] == ""


@pytest.mark.parametrize(("retry_after", "poll"), [(300, 300), (3600, 600)])
def test_rate_limited_waits_as_long_as_trakt_asks_up_to_10_minutes(
    client, fake, clock, retry_after, poll
):
    fake.set(trakt_fault="429", retry_after=retry_after)

    assert settled(client)["poll_seconds"] == poll


# --- Freshness: the end of a play ----------------------------------------------------------------------


def test_a_play_past_its_end_that_trakt_still_reports_is_finishing(client, fake, clock):
    ends = film_ending_in(fake, 5)
    opened(client)
    clock.move_to(ends + timedelta(seconds=1))  # the kept answer is 6 s old: fresh

    answer = live(client)

    assert banner_label(answer) == "Finishing"
    assert "banner--finishing" in answer["fragments"]["banner"]
    assert 'data-slot="left"></span>' in answer["fragments"]["banner"]  # no "0 min left"
    assert 'data-slot="percent">100%<' in answer["fragments"]["banner"]
    assert answer["poll_seconds"] == 10
    assert answer["title"] == "Now watching: Super 8 · Sean Rudford"


def test_a_play_past_its_end_is_served_at_once_while_one_refresh_asks_trakt(client, fake, clock):
    ends = film_ending_in(fake, 5)
    opened(client)
    fake.set(watching="idle", watching_delay=2)
    clock.move_to(ends + timedelta(seconds=20))  # past the end and the reuse window

    answer = live(client)
    still_asking = not wait_for_refreshes(timeout=0)

    assert still_asking
    assert banner_label(answer) == "Finishing"
    assert answer["poll_seconds"] == 2  # to see the refresh's answer as soon as it lands
    assert wait_for_refreshes(timeout=30)
    after = live(client)
    assert banner_label(after) is None
    assert after["title"] == "Sean Rudford"


def test_what_just_ended_is_last_watched_at_once(client, fake, clock):
    ends = film_ending_in(fake, 10)
    opened(client)  # Trakt's last history entry: Breaking Bad, 3 hours ago
    fake.set(watching="idle")
    clock.move_to(ends + timedelta(seconds=20))

    answer = settled(client)

    assert last_watched(answer) == "Last watched: Super 8 · just now"
    page = client.get("/").content.decode()
    assert "<strong>Super 8</strong>" in page


def test_a_play_stopped_short_of_80_percent_is_not_last_watched(client, fake, clock):
    film_ending_in(fake, 60 * 60)  # about half way
    opened(client)
    fake.set(watching="idle")  # stopped: a pause for Trakt, not a play
    clock.shift(20)

    answer = settled(client)

    assert last_watched(answer) == "Last watched: Breaking Bad S0E2 - Wedding Day · 3\xa0hours ago"


@pytest.mark.both_databases
def test_the_poster_row_takes_over_once_the_mirror_has_what_ended(client, fake, clock):
    earlier = mirror.title("Arrival", trakt_id=7)
    mirror.play(earlier, START - timedelta(hours=5))
    ends = film_ending_in(fake, 10)
    opened(client)
    fake.set(watching="idle")
    clock.move_to(ends + timedelta(seconds=20))

    answer = settled(client)
    assert last_watched(answer) == "Last watched: Super 8 · just now"
    assert answer["fragments"]["recent"].index("Arrival")

    # The history job mirrors it (within a minute after the watching answer changed).
    mirror.play(mirror.title("Super 8", trakt_id=8, slug="super-8-2011"), ends)
    clock.shift(3)  # a process rereads the mirror's state every 2 s
    answer = live(client)

    assert last_watched(answer) == ""
    recent = answer["fragments"]["recent"]
    assert recent.index("Super 8") < recent.index("Arrival")


def test_while_something_just_ended_the_page_reads_no_mirror_rows_from_the_shared_cache(
    client, fake, clock, monkeypatch
):
    mirror.play(mirror.title("Arrival", trakt_id=7), START - timedelta(hours=5))
    ends = film_ending_in(fake, 10)
    opened(client)
    fake.set(watching="idle")
    clock.move_to(ends + timedelta(seconds=20))
    settled(client)
    client.get("/")  # its sections rendered and kept in this process
    shared = caches["default"]
    asked = []
    read = shared.get
    monkeypatch.setattr(
        shared, "get", lambda key, *a, **kw: asked.append(key) or read(key, *a, **kw)
    )

    answer = live(client)
    page = client.get("/").content.decode()

    assert last_watched(answer) == "Last watched: Super 8 · just now"
    assert "<strong>Super 8</strong>" in page
    # The mirror's newest play comes with its state, not from the recent posters' rows.
    assert not [key for key in asked if key.startswith(mirror_state.KEY)], asked


def test_a_binge_names_the_episode_before_as_last_watched_only_when_idle(client, fake, clock):
    ends = film_ending_in(fake, 10)
    opened(client)
    fake.set(watching="episode", started_at=None, started_minutes_ago=1, runtime_minutes=45)
    clock.move_to(ends + timedelta(seconds=20))

    answer = settled(client)

    assert "Breaking Bad" in answer["fragments"]["banner"]
    assert last_watched(answer) == ""  # hidden while something plays
    assert ended.just_ended().title == "Super 8"


# --- Many viewers, no more Trakt calls -----------------------------------------------------------------


def poll_for_a_minute(fake, clock, pollers: int) -> int:
    """`pollers` pages asking every 5 s for a minute; the Trakt calls it cost."""
    fake.set(watching="idle")
    calls = fake.calls("trakt:")
    with ThreadPoolExecutor(min(pollers, 16)) as pool:
        for _ in range(12):
            answers = list(pool.map(lambda _: Client().get("/live"), range(pollers)))
            assert {a.status_code for a in answers} == {200}
            assert wait_for_refreshes(timeout=30)
            clock.shift(5)
    return fake.calls("trakt:") - calls


def test_many_open_pages_cost_no_more_trakt_calls_than_one(fake, clock):
    one = poll_for_a_minute(fake, clock, 1)
    many = poll_for_a_minute(fake, clock, 60)

    assert many <= one <= 60 / 15 + 1  # at most one per reuse window (and the first)


# --- Freshness: a new scrobble on open pages ---------------------------------------------------------


def banner_title(answer: dict) -> str | None:
    match = re.search(r'data-slot="title">([^<]*)<', answer["fragments"]["banner"])
    return unescape(match[1]) if match else None


SIMULATED_SECONDS = 20 + 47 * 24 + 60


def scrobble_delays(fake, clock, pages: int, plays: int = 24, gap: float = 47):
    """`pages` open pages, opened a moment apart, each asking /live again when its last
    answer said to (as the script does); a new play starts every `gap` seconds (not a
    multiple of 15, so the plays fall at every point of the reuse window). The seconds
    until each page showed each new play, and how often a page asked (per minute)."""
    starts = [START + timedelta(seconds=20 + gap * n) for n in range(plays)]
    fake.set(title="Play 0", started_at=START.isoformat())
    opened(Client())
    next_poll = [START + timedelta(seconds=1 + 15 * i / pages) for i in range(pages)]
    shown = [""] * pages
    delays = []
    polls = []
    while True:
        page = min(range(pages), key=next_poll.__getitem__)
        moment = next_poll[page]
        if starts and starts[0] <= moment:
            started = starts.pop(0)
            clock.move_to(started)
            fake.set(title=f"Play {plays - len(starts)}", started_at=started.isoformat())
            continue
        if moment > START + timedelta(seconds=20 + gap * plays + 60):
            return delays, len(polls) / pages / (moment - START).total_seconds() * 60
        clock.move_to(moment)
        answer = Client().get("/live").json()
        polls.append(page)
        assert wait_for_refreshes(timeout=30)  # Trakt answers at once on this clock
        title = banner_title(answer)
        if title != shown[page]:
            shown[page] = title
            number = int(title.split()[1])
            if number:
                delays.append(
                    (moment - (START + timedelta(seconds=20 + gap * (number - 1)))).total_seconds()
                )
        next_poll[page] = moment + timedelta(seconds=answer["poll_seconds"])


@pytest.mark.parametrize("pages", [1, 2, 5, 20])
def test_a_new_scrobble_shows_on_open_pages_within_30_s(fake, clock, pages):
    delays, per_minute = scrobble_delays(fake, clock, pages)

    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    calls = fake.calls("trakt:/users/sean/watching")
    print(
        f"{pages} pages: {len(delays)} new plays shown, p50 {delays[len(delays) // 2]:.0f} s, "
        f"p95 {p95:.0f} s, max {delays[-1]:.0f} s; {per_minute:.1f} polls a minute per page; "
        f"{calls} Trakt calls in {SIMULATED_SECONDS} s"
    )
    assert len(delays) == 24 * pages  # every page showed every play
    assert p95 <= 30
    assert calls <= SIMULATED_SECONDS / 15 + 2  # one per reuse window, however many pages
