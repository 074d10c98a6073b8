"""The database the tests run on is the one asked for: SQLite, or PostgreSQL with --postgres."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


def test_the_test_database_is_the_engine_asked_for(request):
    expected = "postgresql" if request.config.getoption("--postgres") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 + 1")
        assert cursor.fetchone() == (2,)
