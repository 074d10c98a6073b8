"""/healthz (the database, the history job) and /readyz (migrations applied): what an
orchestrator needs, nothing private."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from profile.models import OneRow, SyncState
from profile.ops import health
from tests.contract import assert_matches_openapi

pytestmark = pytest.mark.both_databases


def healthz(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_matches_openapi(response, "/healthz")
    return response.json()


def test_healthz_says_the_database_answers_and_no_sync_ran_yet(client):
    assert healthz(client) == {
        "status": "ok",
        "cache": "ok",
        "database": "ok",
        "history": {
            "sync_minutes": 15,
            "state": "never",
            "running": False,
            "last_run_at": None,
            "last_success_at": None,
        },
    }


def test_healthz_tells_a_failing_sync_without_its_error(client):
    now = timezone.now()
    SyncState.objects.create(
        pk=OneRow.ID,
        last_attempt_at=now,
        last_success_at=now - timedelta(hours=2),
        last_error="Trakt refused db-password-c41f at 10.1.2.3",
        last_error_at=now,
        lease_until=now + timedelta(minutes=1),
    )

    history = healthz(client)["history"]

    assert history["state"] == "failing" and history["running"] is True
    assert history["last_run_at"].startswith(now.strftime("%Y-%m-%dT%H:%M"))
    assert "db-password" not in client.get("/healthz").content.decode()


def test_healthz_says_ok_after_a_good_sync_that_followed_a_failure(client, settings):
    settings.HISTORY_SYNC_MINUTES = 0
    now = timezone.now()
    SyncState.objects.create(
        pk=OneRow.ID,
        last_attempt_at=now,
        last_success_at=now,
        last_error_at=now - timedelta(hours=1),
    )

    history = healthz(client)["history"]

    assert (history["state"], history["running"], history["sync_minutes"]) == ("ok", False, 0)


@contextlib.contextmanager
def unreadable(table: str):
    """A table the site reads, gone for a while (a database restored badly, a lost volume)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")


@pytest.mark.django_db(transaction=True)
def test_healthz_stays_200_and_says_degraded_while_the_database_cannot_be_read(client):
    with unreadable("profile_syncstate"):
        during = healthz(client)

    assert (during["status"], during["database"], during["history"]) == ("ok", "degraded", None)
    health.caches["local"].clear()  # what one process kept: it asks again after 2 s
    assert healthz(client)["database"] == "ok"


def test_readyz_is_200_once_every_migration_is_applied(client):
    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (200, {"ready": True})
    assert "no-cache" in response["Cache-Control"]
    assert_matches_openapi(response, "/readyz")


def test_readyz_is_503_not_ready_while_the_database_cannot_be_reached(client, monkeypatch):
    def unreachable(connection):
        raise OperationalError("could not connect to server at 10.1.2.3")

    monkeypatch.setattr(health, "pending_migrations", unreachable)

    response = client.get("/readyz")

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "not_ready"
    assert response.json()["error"]["message"] == "The database cannot be reached."
    assert_matches_openapi(response, "/readyz")


@pytest.mark.parametrize("method", ["post", "delete"])
def test_readyz_answers_only_get_and_head(client, method):
    response = getattr(client, method)("/readyz")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
