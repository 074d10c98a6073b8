"""Friends watching now: one budget of Trakt calls for all of them (200 friends, several
processes), least recently asked first, private and vanished friends skipped quietly; the
strip under the banner and "watching with @sam"."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from profile.live import friends

T = 1_790_000_000.0  # a moment on a slot's boundary, for simulated time


@pytest.fixture
def following(fake, settings):
    settings.FRIENDS = "all"
    fake.set(watching="idle")
    return fake


def slots(count: int, processes: int = 2) -> list[str | None]:
    """`count` slots of the budget, each tried by every process (they share the cache)."""
    done = []
    for slot in range(count):
        for _ in range(processes):
            done.append(friends.tick(now=T + slot * friends.SLOT_SECONDS + 0.1))
    return done


def friend_calls(fake) -> Counter:
    return Counter(
        key for key, n in fake.call_log().items() for _ in range(n) if key.startswith("trakt:")
    )


def test_two_hundred_friends_stay_within_one_budget_whatever_the_processes(following):
    following.set(following=200)
    budget_slots = int(friends.BUDGET_SECONDS / friends.SLOT_SECONDS)

    done = slots(budget_slots, processes=3)

    calls = sum(friend_calls(following).values())
    assert calls == budget_slots == friends.BUDGET_CALLS == 50  # 10 % of Trakt's 500 / 5 min
    assert done.count(None) == 2 * budget_slots  # the other processes found each slot taken
    assert done[0] == "following"


def test_the_least_recently_asked_friend_goes_first(following):
    following.set(following=200)

    slots(1 + 200 + 10, processes=1)

    asked = Counter(
        key.split("/")[2]
        for key, n in friend_calls(following).items()
        for _ in range(n)
        if key.endswith("/watching")
    )
    assert len(asked) == 200
    assert sorted(asked.values()) == [1] * 190 + [2] * 10  # all once before any twice


def test_a_private_or_vanished_friend_is_skipped_quietly(following, caplog):
    following.set(
        following=["alex", "kim", "sam"], private_friends=["alex"], vanished_friends=["kim"]
    )

    with caplog.at_level(logging.DEBUG):
        slots(1 + 3 * 4, processes=1)

    calls = friend_calls(following)
    assert calls["trakt:/users/alex/watching"] == 1
    assert calls["trakt:/users/kim/watching"] == 1
    assert calls["trakt:/users/sam/watching"] == 10  # the budget goes to who answers
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_named_list_of_friends_is_asked_without_reading_the_follows(following, settings):
    settings.FRIENDS = ("sam",)
    following.set(following=["sam", "alex"])

    slots(3, processes=1)

    assert set(friend_calls(following)) == {"trakt:/users/sam/watching"}


def test_the_strip_says_who_watches_what_and_the_banner_who_watches_with_the_owner(
    client, following
):
    following.set(
        following=["alex", "sam"],
        friends_watching={"sam": "movie", "alex": "episode"},
        friend_started_minutes_ago=20,
        watching="movie",  # the owner watches Super 8 too...
        started_minutes_ago=25,  # ...begun within ten minutes of sam
    )
    slots(3, processes=1)
    client.get("/api/watching")  # the owner's answer, kept

    live = client.get("/live").json()["fragments"]
    page = client.get("/").content.decode()

    assert "watching with @sam" in live["banner"]
    strip = live["friends"]
    assert (
        "Also watching: " in strip and "@alex</a>, Breaking Bad S0E2 - Wedding Day, 44 %" in strip
    )
    assert "@sam" not in strip  # named in the banner instead
    assert strip in page


def test_a_friend_more_than_ten_minutes_apart_is_only_in_the_strip(client, following):
    following.set(
        following=["sam"], friends_watching={"sam": "movie"}, friend_started_minutes_ago=50
    )
    following.set(watching="movie", started_minutes_ago=25)
    slots(2, processes=1)
    client.get("/api/watching")

    live = client.get("/live").json()["fragments"]

    assert "watching with" not in live["banner"]
    assert "@sam</a>, Super 8, 44 %" in live["friends"]


def test_friends_off_asks_nobody_and_shows_nothing(client, fake, settings):
    fake.set(following=["sam"], friends_watching={"sam": "movie"})

    assert friends.start() is None
    assert client.get("/live").json()["fragments"]["friends"].endswith("hidden></p>")
