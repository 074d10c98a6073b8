"""An upgrade keeps the data: a database made by the previous release's migrations (the
newest entry of `profile.ops.migrations.RELEASES`, whatever migrations came since), with a
history and a sign-in in it, migrated to this release's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from profile.mirror.review import year_review
from profile.mirror.state import forget_mirror, mirror
from profile.models import Play, Rating, Title, TraktToken
from profile.ops.migrations import RELEASES, pending_migrations
from profile.signin.sealing import seal, unseal

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]

PREVIOUS_RELEASE, PREVIOUS_MIGRATIONS = list(RELEASES.items())[-1]
FIRST = {"profile": "0001_initial"}  # a site from before the history mirror
ACCESS = "access-TOKEN-before-the-upgrade-6d1a"
# Distinctive: a sealed value is never logged again in this process (redaction.redact_also).
REFRESH = "refresh-TOKEN-before-the-upgrade-0b7e"


def migrate(targets: dict[str, str] | None = None):
    """The database migrated to `targets` (None: this release), backwards or forwards; the
    models of that state."""
    executor = MigrationExecutor(connection)
    nodes = list(targets.items()) if targets else executor.loader.graph.leaf_nodes()
    executor.migrate(nodes)
    return MigrationExecutor(connection).loader.project_state(nodes).apps


@pytest.fixture(autouse=True)
def this_release_afterwards():
    yield
    migrate()  # the rest of the session runs on this release's schema


def a_sign_in(apps) -> None:
    now = datetime.now(UTC)
    apps.get_model("profile", "TraktToken").objects.create(
        id=1,
        access_token_encrypted=seal(ACCESS),
        refresh_token_encrypted=seal(REFRESH),
        issued_at=now,
        expires_at=now + timedelta(days=90),
        signed_in_at=now,
        user_slug="sean",
    )


def a_history(apps) -> None:
    """Plays, titles, genres, an episode and ratings, written as that release wrote them."""
    model = lambda name: apps.get_model("profile", name)  # noqa: E731
    drama = model("Genre").objects.create(slug="drama")
    film = model("Title").objects.create(kind="movie", trakt_id=11, title="The Quiet Orbit",
                                         year=2023, runtime=118)  # fmt: skip
    show = model("Title").objects.create(kind="show", trakt_id=12, title="Saltmarsh", runtime=45)
    show.genres.add(drama)
    episode = model("Episode").objects.create(trakt_id=13, show=show, season=2, number=5)
    for n, (title, ep, minutes) in enumerate([(film, None, 118), (show, episode, 45)] * 3):
        at = datetime(2025, 6, 1 + n, 20, 30, tzinfo=UTC)
        model("Play").objects.create(
            history_id=100 + n, watched_at=at, action="scrobble",
            kind="episode" if ep else "movie", title=title, episode=ep, runtime=minutes,
            local_date=at.date(), local_hour=at.hour, local_weekday=at.weekday(),
            epoch_minute=int(at.timestamp() // 60),
        )  # fmt: skip
    model("Rating").objects.create(kind="movie", trakt_id=11, title=film, rating=9,
                                   rated_at=datetime(2025, 6, 2, tzinfo=UTC))  # fmt: skip
    model("SyncState").objects.create(
        id=1, owner="demo", time_zone="UTC", version=5, backfilled_at=datetime.now(UTC)
    )


def test_a_database_of_the_previous_release_keeps_its_history_and_sign_in(client):
    apps = migrate(PREVIOUS_MIGRATIONS)
    a_sign_in(apps)
    a_history(apps)

    migrate()

    forget_mirror()
    assert not pending_migrations(connection)
    assert sorted(Play.objects.values_list("history_id", flat=True)) == list(range(100, 106))
    assert Play.objects.filter(kind="episode").first().local_date == date(2025, 6, 2)
    assert [g.slug for g in Title.objects.get(trakt_id=12).genres.all()] == ["drama"]
    assert Rating.objects.get().rating == 9
    assert (mirror().version, mirror().backfilled) == (5, True)
    review = year_review(2025)
    assert (review.totals.plays, review.totals.minutes) == (6, 3 * 118 + 3 * 45)
    assert unseal(TraktToken.objects.get().access_token_encrypted) == ACCESS
    assert client.get("/readyz").status_code == 200


def test_a_database_from_before_the_history_mirror_gains_it_and_keeps_the_sign_in(client):
    a_sign_in(migrate(FIRST))
    not_ready = client.get("/readyz")

    migrate()

    assert not_ready.status_code == 503 and not_ready.json()["error"]["code"] == "not_ready"
    assert "migration" in not_ready.json()["error"]["message"]
    assert unseal(TraktToken.objects.get().access_token_encrypted) == ACCESS
    assert Play.objects.count() == 0
    assert client.get("/readyz").status_code == 200


def test_the_previous_release_is_one_this_code_can_migrate_from():
    """RELEASES names migrations that exist (a typo would make the test above vacuous)."""
    graph = MigrationExecutor(connection).loader.graph
    for name, migrations in RELEASES.items():
        for app, migration in migrations.items():
            assert (app, migration) in graph.nodes, (name, app, migration)
