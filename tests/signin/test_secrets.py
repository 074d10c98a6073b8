"""No token, refresh token or client secret in an answer, a header, a log line, a command's
output or the database in clear, whatever happens to the sign-in."""

import io
import logging

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError

from profile.management.commands import trakt_login
from tests.fake_upstream import TRAKT_SECRET
from tests.signin import DAY, raw_database_text, sign_in
from tests.signin.test_commands import FakeClock
from tests.test_security_secrets import body, endpoints

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db(transaction=True)]

CASES = {
    "fresh": {"issued_ago": 0},
    "renewal due": {"issued_ago": 6.5},
    "expired": {"issued_ago": 8},
    "refused (401)": {"issued_ago": 2, "revoke_access": True},
    "signed out": {"issued_ago": 8, "state": {"refresh_fault": "invalid_grant"}},
    "signed out, 400": {"issued_ago": 8, "state": {"refresh_fault": "invalid_grant_400"}},
    "renewal fails": {"issued_ago": 8, "state": {"refresh_fault": "500"}},
    "wrong secret": {"issued_ago": 8, "state": {"refresh_fault": "invalid_client"}},
    "trakt fails": {"issued_ago": 0, "state": {"trakt_fault": "500"}},
    "public": {"issued_ago": 0, "state": {"private_user": False}},
}


@pytest.fixture
def fake(reset_fake, monkeypatch):
    reset_fake.set(private_user=True)
    monkeypatch.setattr(trakt_login, "time", FakeClock())
    return reset_fake


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_no_token_or_client_secret_appears_anywhere(client, fake, caplog, case):
    pair = sign_in(fake, issued_ago=case["issued_ago"] * DAY)
    if case.get("revoke_access"):
        fake.tokens.revoked.add(pair["access_token"])
    fake.set(**case.get("state", {}))
    client.raise_request_exception = False

    seen = []
    with caplog.at_level(logging.DEBUG, logger="profile"):
        for path in [*endpoints(), "/no-such-page", "/api/no-such-endpoint"]:
            for each in caches.all():
                each.clear()
            response = client.get(path)
            assert response.status_code < 500 or response.status_code in (502, 503, 504)
            seen += [
                f"{path} {response.status_code} {response.headers}",
                body(response),
            ]
        for command in ("trakt_status", "trakt_login", "trakt_status", "trakt_logout"):
            out = io.StringIO()
            try:
                call_command(command, stdout=out, stderr=out)
            except CommandError as error:
                seen.append(str(error))
            seen.append(out.getvalue())
    seen += [caplog.text, raw_database_text()]

    everything = "\n".join(seen)
    secrets = fake.tokens.secrets_issued() | {TRAKT_SECRET}
    assert len(secrets) >= 3
    for secret in secrets:
        assert secret not in everything
    assert "Traceback" not in everything
