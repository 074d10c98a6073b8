"""The history mirror's sync against the loopback fake Trakt, on SQLite and PostgreSQL."""

import os
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profile.client import trakt
from profile.mirror import review as reviews
from profile.mirror import state as mirror_state
from profile.mirror import sync
from profile.mirror.sync import lease as sync_lease
from profile.mirror.sync import pacing
from profile.models import Episode, Play, Rating, SyncState, Title
from tests import mirror
from tests.fake_upstream import generated_movie, generated_show
from tests.signin import sign_in

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]

HISTORY = "trakt:/users/sean/history"


@pytest.fixture
def fake(reset_fake):
    return reset_fake


def run(**options) -> sync.Outcome:
    return sync.sync(pace=False, **options)


def history_ids() -> set[int]:
    return set(Play.objects.values_list("history_id", flat=True))


def movie_play(history_id: int, watched_at: str, number: int = 1, **movie) -> dict:
    return {
        "id": history_id,
        "watched_at": watched_at,
        "action": "scrobble",
        "type": "movie",
        "movie": generated_movie(number) | movie,
    }


# --- Backfill and pagination --------------------------------------------------------------------


def test_a_first_run_backfills_every_page_at_trakts_cap(fake):
    fake.set(history=600)

    outcome = run()

    assert (outcome.kind, outcome.plays, outcome.new, outcome.removed) == ("backfill", 600, 600, 0)
    assert history_ids() == set(range(1, 601))
    # Three windows (250, 250 and 102 plays: each from the oldest moment of the one before),
    # one call that counts what Trakt lists now, then the three kinds of ratings.
    assert fake.calls(HISTORY) == 4
    # Then the library: favourites, watchlist, lists and comments, one page each.
    assert outcome.calls == 11
    assert (
        outcome.summary()
        == "600 plays, 600 new, 0 removed, 11 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )
    state = mirror_state.state()
    assert state.backfilled_at is not None and state.walk_next_page is None


def test_pages_smaller_than_asked_for_are_followed_by_the_headers(fake):
    fake.set(history=530, history_max_page_size=100)

    run()

    assert history_ids() == set(range(1, 531))
    assert fake.calls(HISTORY) == 7  # six windows of 100 (99 new each after the first), a count


def test_an_empty_history_is_a_finished_backfill(fake):
    fake.set(history=[])

    outcome = run()

    assert (outcome.plays, outcome.new) == (0, 0)
    assert fake.calls(HISTORY) == 1
    assert mirror_state.state().backfilled_at is not None


def test_every_play_is_linked_to_its_title_episode_and_runtime(fake):
    fake.set(history=15)

    run()

    movie = Play.objects.get(history_id=1)  # play 0 of the generated history is a movie
    assert movie.kind == "movie" and movie.episode is None
    assert movie.title.kind == "movie" and movie.runtime == movie.title.runtime > 0
    assert set(movie.title.genres.values_list("slug", flat=True)) == set(
        generated_movie(0)["genres"]
    )
    episode = Play.objects.get(history_id=3)
    assert episode.kind == "episode" and episode.title.kind == "show"
    assert (episode.episode.season, episode.episode.number) == (1, 3)
    assert episode.runtime == episode.episode.runtime
    # The first episode of a season has no runtime of its own: the show's is credited.
    first = Play.objects.get(history_id=2)
    assert first.episode.number == 2 or first.runtime == first.title.runtime
    assert movie.action == "scrobble"


def test_a_show_without_a_tmdb_id_and_unicode_titles_are_mirrored(fake):
    fake.set(history=30)

    run()

    no_tmdb = Title.objects.get(kind="show", trakt_id=generated_show(0)["ids"]["trakt"])
    assert no_tmdb.tmdb_id is None and no_tmdb.plays.exists()
    assert Title.objects.get(trakt_id=600_003).title == "Série n°3 — 東京"


# --- Incremental --------------------------------------------------------------------------------


def test_a_second_run_is_incremental_and_costs_one_call(fake):
    fake.set(history=600)
    run()
    before = fake.calls()

    outcome = run()

    assert (outcome.kind, outcome.new, outcome.calls) == ("incremental", 0, 1)
    assert fake.calls() - before == 1
    assert outcome.summary() == "600 plays, 0 new, 0 removed, 1 Trakt call"


def test_an_incremental_asks_from_the_newest_play_less_a_day(fake, monkeypatch):
    fake.set(history=600)
    run()
    asked = []
    real = trakt.history_page
    monkeypatch.setattr(trakt, "history_page", lambda *a, **kw: asked.append(kw) or real(*a, **kw))
    fake.set(history=612)

    outcome = run()

    newest = Play.objects.order_by("-watched_at").first().watched_at
    assert outcome.new == 12
    assert len(history_ids()) == 612
    assert asked[0]["start_at"] == newest - timedelta(minutes=31 * 12) - timedelta(days=1)


# --- Resume, idempotence, removal ---------------------------------------------------------------


class StopAfter(mirror.AtPage):
    """A progress that stops the run (as Ctrl-C would) once a page is written."""

    def __init__(self, page: int):
        super().__init__(page, self.interrupt)

    def interrupt(self):
        raise KeyboardInterrupt


def test_an_interrupted_backfill_continues_where_it_stopped(fake):
    fake.set(history=600)
    with pytest.raises(KeyboardInterrupt):
        run(progress=StopAfter(2))

    assert len(history_ids()) == 499  # the second window began with the first's oldest play
    state = mirror_state.state()
    assert (state.walk_kind, state.walk_next_page) == ("backfill", 3)
    assert state.lease_owner == ""  # released
    assert state.last_error == "Interrupted."
    before = fake.calls(HISTORY)

    outcome = run()

    assert history_ids() == set(range(1, 601))
    # Page 3 of the walk, the count, then one incremental page for what came meanwhile.
    assert fake.calls(HISTORY) - before == 3
    assert outcome.kind == "backfill" and outcome.new == 101
    assert mirror_state.state().walk_next_page is None


def test_a_page_written_twice_leaves_no_duplicates(fake):
    fake.set(history=600)
    run()
    # As if the last run had died after writing page 2 but before saying so.
    SyncState.objects.filter(pk=1).update(
        walk_kind="full",
        walk_next_page=2,
        walk_end_at=datetime.now(UTC),
        walk_item_count=600,
    )

    outcome = run()

    assert Play.objects.count() == 600
    assert outcome.new == 0


def test_full_walks_everything_again_and_changes_nothing_when_nothing_changed(fake):
    fake.set(history=600, ratings=20)
    run()
    before = sorted(Play.objects.values_list("history_id", "watched_at", "local_date"))

    outcome = run(full=True)

    assert (outcome.kind, outcome.new, outcome.removed) == ("full", 0, 0)
    assert sorted(Play.objects.values_list("history_id", "watched_at", "local_date")) == before
    assert Rating.objects.count() == 20 + 12


def test_full_removes_the_plays_deleted_on_trakt(fake):
    fake.set(history=600)
    run()
    fake.set(history_removed=[1, 300, 600])

    outcome = run(full=True)

    assert outcome.removed == 3
    assert history_ids() == set(range(1, 601)) - {1, 300, 600}
    assert (
        outcome.summary()
        == "597 plays, 0 new, 3 removed, 11 Trakt calls (4 for favourites, watchlist, lists, comments)"
    )


def test_an_incremental_never_removes_anything(fake):
    fake.set(history=600)
    run()
    fake.set(history_removed=[600])

    outcome = run()

    assert outcome.removed == 0 and Play.objects.count() == 600


def test_a_title_left_without_plays_is_forgotten(fake):
    fake.set(
        history=[
            movie_play(1, "2024-05-01T20:00:00.000Z", 1),
            movie_play(2, "2024-05-02T20:00:00.000Z", 2),
        ]
    )
    run()
    fake.set(history_removed=[2])

    run(full=True)

    assert list(Title.objects.values_list("trakt_id", flat=True)) == [500_001]


def test_an_unreadable_play_costs_that_play_and_defers_removals(fake):
    fake.set(
        history=[
            movie_play(1, "2024-05-01T20:00:00.000Z"),
            movie_play(2, "yesterday"),
            movie_play(3, "2024-05-03T20:00:00.000Z"),
        ]
    )
    run()
    assert history_ids() == {1, 3}
    fake.set(history_removed=[1])

    outcome = run(full=True)

    assert outcome.removed == 0 and history_ids() == {1, 3}
    assert "removals wait for the next full sync" in outcome.notes[0]


# --- The history moving while it is walked -----------------------------------------------------
#
# The generated history: play i (id i) watched at 2023-01-01 18:00 + (i - 1) x 31 min, newest
# first, 250 to a page: the first page read holds ids 600 to 351 of 600.


def listed_by_trakt(fake) -> set[int]:
    """The ids the fake lists now."""
    state = fake.state
    generated = set(range(1, state["history"] + 1))
    return (generated | {item["id"] for item in state["history_added"]}) - set(
        state["history_removed"]
    )


def moving(fake, after_reads: int, remove=(), add=()) -> None:
    """The history moves once the walk about to start has made `after_reads` history calls."""
    move = {"before_call": fake.state["history_calls"] + after_reads + 1}
    fake.set(history_moves=[move | {"remove": list(remove), "add": list(add)}])


LONG_AGO = movie_play(10_001, "2020-06-01T20:00:00.000Z", 7)  # older than every play
LATELY = movie_play(10_002, "2023-08-01T20:00:00.000Z", 8)  # among the newest 250


def test_a_full_walk_during_which_a_read_play_goes_and_an_old_one_comes_ends_as_trakt_is(fake):
    fake.set(history=600)
    run()
    # After the first page: play 599 (read already) is deleted, and a play is marked as
    # watched long ago (where the walk has not been yet): as many plays at both ends.
    moving(fake, after_reads=1, remove=[599], add=[LONG_AGO])

    outcome = run(full=True)

    assert history_ids() == listed_by_trakt(fake)  # nothing Trakt lists removed, 599 gone
    assert outcome.removed == 1 and outcome.new == 1


def test_a_full_walk_during_which_an_unread_play_goes_and_a_read_one_comes_ends_as_trakt_is(fake):
    fake.set(history=600)
    run()
    moving(fake, after_reads=1, remove=[3], add=[LATELY])

    outcome = run(full=True)

    assert history_ids() == listed_by_trakt(fake)
    assert outcome.removed == 1 and outcome.new == 1


def test_a_backfill_during_which_plays_go_misses_none_and_is_not_done_early(fake):
    fake.set(history=900)
    # After the first page (ids 900 to 651), 300 plays are deleted, 250 of them read already:
    # the page count shrinks from four to three, and every later page moves up by a page.
    moving(fake, after_reads=1, remove=range(601, 901))

    outcome = run()

    assert history_ids() == listed_by_trakt(fake) == set(range(1, 601))
    assert mirror_state.state().backfilled_at is not None
    assert outcome.plays == 600


def test_a_backfill_during_which_old_plays_come_mirrors_them(fake):
    fake.set(history=600)
    moving(fake, after_reads=1, add=[LATELY])

    run()

    assert history_ids() == listed_by_trakt(fake)


def test_a_play_deleted_and_another_added_where_the_walk_has_been_never_cost_a_listed_play(fake):
    fake.set(history=600)
    run()
    moving(fake, after_reads=1, remove=[599], add=[LATELY])

    run(full=True)

    # Nothing Trakt lists is ever removed; a change the walk had passed (both where it had
    # read already, as many plays at both ends) is seen by the next full walk.
    assert listed_by_trakt(fake) - {LATELY["id"]} <= history_ids()
    run(full=True)
    assert history_ids() == listed_by_trakt(fake)


def test_more_plays_at_one_moment_than_a_page_holds_are_all_mirrored_and_swept_right(fake):
    # A show of 300 episodes marked as watched at once: one moment, more than a page.
    at_once = [episode_play(20_000 + n, "2024-02-01T10:00:00.000Z", 1 + n % 10) for n in range(300)]
    films = [
        movie_play(n, f"2024-01-{1 + n % 28:02d}T20:{n % 60:02d}:00.000Z", n) for n in range(1, 101)
    ]
    fake.set(history=[*at_once, *films])

    run()
    assert history_ids() == listed_by_trakt_list(fake)
    fake.set(history_removed=[20_007])
    outcome = run(full=True)

    assert outcome.removed == 1
    assert history_ids() == listed_by_trakt_list(fake)


def test_a_moment_of_many_plays_that_moves_while_paged_defers_removals(fake):
    at_once = [episode_play(20_000 + n, "2024-02-01T10:00:00.000Z", 1 + n % 10) for n in range(300)]
    films = [movie_play(n, f"2024-01-{1 + n % 28:02d}T20:00:00.000Z", n) for n in range(1, 51)]
    fake.set(history=[*at_once, *films])
    run()
    # The first window ends at that moment; the second pages through it: one of its plays
    # read on its first page goes before its second page is asked, and the rest move up.
    moving(fake, after_reads=2, remove=[20_298])

    outcome = run(full=True)

    assert outcome.removed == 0 and "removals wait for the next full sync" in outcome.notes[0]
    assert listed_by_trakt_list(fake) <= history_ids()  # none missing, none wrongly removed
    run(full=True)
    assert history_ids() == listed_by_trakt_list(fake)


def listed_by_trakt_list(fake) -> set[int]:
    state = fake.state
    return {item["id"] for item in [*state["history"], *state["history_added"]]} - set(
        state["history_removed"]
    )


# --- Rate limits --------------------------------------------------------------------------------


def test_a_429_in_the_middle_of_a_backfill_is_waited_out(fake):
    fake.set(history=600, history_429_call=2, retry_after=1)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        cache.delete(trakt.RATE_LIMIT_KEY)  # as if the wait had passed

    outcome = sync.sync(pace=False, sleep=sleep)

    assert history_ids() == set(range(1, 601))
    assert waits == [1]
    assert fake.calls(HISTORY) == 5  # page 2 twice, and the count
    assert outcome.calls == 12


def test_the_pace_allows_a_burst_then_keeps_to_100_calls_per_5_minutes():
    waits = []
    pacer = pacing.Pacer(True, None, None, waits.append)

    for _ in range(pacing.PACE_BURST):
        pacer.take()
    assert waits == []
    pacer.take()

    assert waits == [pytest.approx(pacing.PACE_SECONDS / pacing.PACE_CALLS, rel=0.05)]
    assert pacer.seconds_for(100) == pytest.approx(300, rel=0.05)


def test_a_backfill_says_how_long_it_will_take_at_the_pace(fake):
    fake.set(history=20_000)
    told = []

    class Tell(StopAfter):
        def walk(self, kind, first_page, pages, seconds):
            told.append((kind, pages, seconds))

    with pytest.raises(KeyboardInterrupt):
        sync.sync(progress=Tell(1), sleep=lambda s: None)

    kind, pages, seconds = told[0]
    assert (kind, pages) == ("backfill", 80)
    # 79 pages after the first, less what is left of the burst, at 3 s a call.
    assert 3 * (79 - pacing.PACE_BURST) <= seconds <= 3 * 79


# --- Ratings and last activities ----------------------------------------------------------------


def test_ratings_are_mirrored_and_those_removed_on_trakt_go(fake):
    fake.set(history=10, ratings=30)
    run()
    assert Rating.objects.filter(kind="movie").count() == 30
    assert Rating.objects.filter(kind="show").count() == 12
    rated = Rating.objects.get(kind="movie", trakt_id=500_000)
    assert rated.rating == 1 and rated.title.community_rating == generated_movie(0)["rating"]
    fake.set(ratings=5)

    run(full=True)

    assert Rating.objects.filter(kind="movie").count() == 5


def test_with_a_token_nothing_new_costs_one_last_activities_call(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "a-token"
    fake.set(history=100, ratings=3)
    run()
    before = fake.call_log()

    outcome = run()

    assert (outcome.kind, outcome.calls) == ("unchanged", 1)
    after = fake.call_log()
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)} == {
        "trakt:/sync/last_activities": 1
    }


def test_with_a_token_moved_history_and_ratings_are_fetched(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "a-token"
    fake.set(history=100, ratings=3)
    run()

    fake.set(history=105)
    outcome = run()
    assert (outcome.kind, outcome.new, outcome.calls) == ("incremental", 5, 2)

    fake.set(ratings=4)
    outcome = run()
    assert (outcome.kind, outcome.ratings, outcome.calls) == ("unchanged", 4 + 12, 4)
    assert Rating.objects.filter(kind="movie").count() == 4


def test_the_owners_me_paths_are_used_with_a_token(fake, settings):
    settings.TRAKT_ACCESS_TOKEN = "a-token"
    fake.set(history=5)

    run()

    assert fake.calls("trakt:/users/me/history") == 1


# --- Owner, time zone, failures -----------------------------------------------------------------


def test_another_user_starts_the_mirror_afresh(fake, settings):
    fake.set(history=20)
    run()
    settings.TRAKT_USERNAME = "someone-else"
    fake.set(history=[movie_play(1, "2024-05-01T20:00:00.000Z", 7)])

    outcome = run()

    assert outcome.kind == "backfill"
    assert history_ids() == {1}
    assert list(Title.objects.values_list("trakt_id", flat=True)) == [500_007]


def test_signing_in_as_the_same_person_keeps_the_mirror(fake, settings):
    # A public profile mirrored, then its owner signs in: the `me` paths, the same history.
    fake.set(history=20)
    run()
    sign_in(fake)  # as @sean, the public TRAKT_USERNAME

    outcome = run()

    assert outcome.kind == "incremental" and outcome.new == 0
    assert fake.calls("trakt:/users/me/history") == 1
    assert len(history_ids()) == 20


def test_a_new_time_zone_rebuckets_every_play(fake, settings):
    fake.set(history=[movie_play(1, "2024-05-01T22:30:00.000Z")])
    run()
    assert Play.objects.get().local_date == date(2024, 5, 1)

    settings.TIME_ZONE = "Asia/Tokyo"
    run()

    play = Play.objects.get()
    assert (play.local_date, play.local_hour, play.local_weekday) == (date(2024, 5, 2), 7, 3)
    assert mirror_state.state().time_zone == "Asia/Tokyo"


# Each pair: 23:30 and 00:30 local time, the evening before and the night of the change.
DST_CASES = {
    # Berlin springs forward at 02:00 on 31 March 2024 and falls back at 03:00 on 27 October.
    "Europe/Berlin": [
        ("2024-03-30T22:30:00Z", date(2024, 3, 30), 23),
        ("2024-03-30T23:30:00Z", date(2024, 3, 31), 0),
        ("2024-10-26T21:30:00Z", date(2024, 10, 26), 23),
        ("2024-10-26T22:30:00Z", date(2024, 10, 27), 0),
    ],
    # Santiago changes at midnight: on 6 April 2024 at 24:00 the clock goes back to 23:00
    # (23:30 happens twice, both on the 6th); on 8 September 00:00 becomes 01:00.
    "America/Santiago": [
        ("2024-04-07T02:30:00Z", date(2024, 4, 6), 23),
        ("2024-04-07T03:30:00Z", date(2024, 4, 6), 23),
        ("2024-04-07T04:30:00Z", date(2024, 4, 7), 0),
        ("2024-09-08T03:30:00Z", date(2024, 9, 7), 23),
        ("2024-09-08T04:30:00Z", date(2024, 9, 8), 1),
    ],
}


@pytest.mark.parametrize("zone", DST_CASES)
def test_plays_around_dst_changes_land_in_their_local_days_and_hours(fake, settings, zone):
    settings.TIME_ZONE = zone
    cases = DST_CASES[zone]
    fake.set(history=[movie_play(i + 1, moment) for i, (moment, _, _) in enumerate(cases)])

    run()

    stored = list(Play.objects.order_by("history_id").values_list("local_date", "local_hour"))
    assert stored == [(day, hour) for _, day, hour in cases]


def test_trakt_refusing_the_key_fails_with_the_reason_and_releases_the_lease(fake, settings):
    settings.TRAKT_API_KEY = "not-the-key"

    with pytest.raises(sync.SyncFailed, match="Trakt refused this API app") as failure:
        run()

    assert failure.value.code == "forbidden"
    state = mirror_state.state()
    assert state.lease_owner == "" and "Trakt refused" in state.last_error


def test_episodes_keep_their_show(fake):
    fake.set(history=50)

    run()

    assert not Episode.objects.exclude(show__kind="show").exists()
    assert Play.objects.filter(kind="episode", episode__isnull=True).count() == 0


# --- The lease ----------------------------------------------------------------------------------


def test_a_held_lease_turns_a_second_sync_away(fake):
    fake.set(history=10)
    holder = sync_lease.Lease()
    holder.take()

    with pytest.raises(sync.SyncBusy) as busy:
        run()

    assert busy.value.holder == holder.token
    assert fake.calls() == 0
    holder.release()
    assert run().plays == 10


def test_a_lease_left_by_a_dead_process_expires(fake):
    fake.set(history=10)
    sync_lease.Lease().take()
    SyncState.objects.filter(pk=1).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))

    assert run().plays == 10


def gone_pid() -> int:
    """The pid of a process of this machine that has ended (and been reaped)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def test_a_lease_held_by_a_process_of_this_machine_that_is_gone_does_not_block(fake):
    fake.set(history=10)
    dead = sync_lease.Lease(pid=gone_pid())
    dead.take()
    listening = mirror.AtPage(99)

    assert run(progress=listening).plays == 10

    notes = listening.notes
    assert any(f"pid {dead.pid} on this machine" in note and "ended" in note for note in notes)
    assert SyncState.objects.get().lease_owner == ""  # ours, released at the end


def test_a_living_holder_of_this_machine_is_named_as_running(fake):
    holder = sync_lease.Lease()
    holder.take()

    with pytest.raises(sync.SyncBusy) as busy:
        run()

    assert busy.value.running is True
    assert f"pid {os.getpid()} on this machine" in busy.value.who
    holder.release()


def test_a_holder_on_another_machine_blocks_until_its_lease_lapses(fake):
    fake.set(history=10)
    other = "web-2:4242:0123abcd:not-this-place:17"
    until = datetime.now(UTC) + timedelta(minutes=1)
    SyncState.objects.update_or_create(pk=1, defaults={"lease_owner": other, "lease_until": until})

    with pytest.raises(sync.SyncBusy) as busy:
        run()

    assert busy.value.running is None  # it cannot be known from here
    assert "pid 4242 on web-2, another machine" in busy.value.who
    assert fake.calls() == 0


def test_a_lease_lost_mid_run_stops_the_run(fake):
    fake.set(history=600)

    def steal():
        SyncState.objects.filter(pk=1).update(lease_owner="someone else")

    with pytest.raises(sync.SyncFailed, match="lost its lease"):
        run(progress=mirror.AtPage(1, steal))

    assert Play.objects.count() == 250


def episode_play(history_id: int, watched_at: str, number: int, runtime: int = 70) -> dict:
    show = generated_show(1) | {"runtime": runtime}
    return {
        "id": history_id,
        "watched_at": watched_at,
        "action": "scrobble",
        "type": "episode",
        "show": show,
        "episode": {
            "season": 1,
            "number": number,
            "title": f"Episode {number}",
            "ids": {"trakt": 7000 + number},
            "runtime": runtime,
        },
    }


def test_runs_of_episodes_are_kept_up_to_date_for_the_longest_binge(fake):
    # Three 70-minute episodes back to back: one run; without the middle one the gap is 70 min.
    fake.set(
        history=[
            episode_play(1, "2024-05-01T20:10:00.000Z", 1),
            episode_play(2, "2024-05-01T21:20:00.000Z", 2),
            episode_play(3, "2024-05-01T22:30:00.000Z", 3),
        ]
    )
    run()
    starts = set(Play.objects.values_list("run_start", flat=True))
    assert len(starts) == 1 and None not in starts
    assert reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31)).episodes == 3

    fake.set(history_removed=[2])
    run(full=True)

    assert len(set(Play.objects.values_list("run_start", flat=True))) == 2
    assert reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31)) is None


def test_a_full_walk_of_an_unchanged_history_keeps_every_run_and_the_mirrors_version(fake):
    fake.set(history=[episode_play(n, f"2024-05-01T{18 + n}:10:00.000Z", n) for n in (1, 2, 3)])
    run()
    starts = sorted(Play.objects.values_list("history_id", "run_start"))

    with CaptureQueriesContext(connection) as queries:
        run(full=True)

    assert sorted(Play.objects.values_list("history_id", "run_start")) == starts
    # Not one run cleared and worked out again (the daily reconcile rewrote them all): the
    # longest binge stays right while the walk is under way.
    assert not [q["sql"] for q in queries if '"run_start" =' in q["sql"]]


def test_a_play_moved_on_trakt_has_its_run_worked_out_again(fake):
    plays = [episode_play(n, f"2024-05-01T{18 + n}:10:00.000Z", n, runtime=60) for n in (1, 2, 3)]
    fake.set(history=plays)
    run()
    assert reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31)).episodes == 3

    plays[2] = episode_play(3, "2024-05-02T21:10:00.000Z", 3, runtime=60)  # a day later
    fake.set(history=plays)
    run(full=True)

    assert len(set(Play.objects.values_list("run_start", flat=True))) == 2
    assert reviews.longest_binge(date(2024, 1, 1), date(2024, 12, 31)).episodes == 2
