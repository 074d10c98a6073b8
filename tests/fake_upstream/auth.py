"""Trakt's auth host ({url}/auth, `TRAKT_AUTH_URL`): the device flow, token renewal and
revocation. Tokens the fake issued are checked on every API call (expired, revoked or retired
ones get 401); a token it never issued (a test's TRAKT_ACCESS_TOKEN) is taken as valid."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING

from tests.fake_upstream.common import (
    TRAKT_KEY,
    TRAKT_SECRET,
    fixture_bytes,
    json_answer,
    oauth_error,
)

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream


class FakeTokens:
    """Trakt's OAuth endpoints and the tokens they issue, as strict as the real ones.

    Refresh tokens are single use: each renewal retires the one presented (a second use gets
    401 invalid_grant), and every presentation is counted (`refresh_uses`), so a test can
    prove none was sent twice. Access tokens expire after the `expires_in` they were issued
    with, on this process's clock (time-machine moves it). `issue()` hands a test a pair as
    the device flow would.
    """

    def __init__(self, fake: FakeUpstream):
        self.fake = fake
        self.access: dict[str, float] = {}  # every access token issued -> when it expires
        self.revoked: set[str] = set()
        self.refresh_live: dict[str, str] = {}  # live refresh token -> its access token
        self.refresh_uses: Counter[str] = Counter()  # every refresh token presented, counted
        self.refused_calls = 0  # API calls with an expired, revoked or unknown-to-us token
        self.device_codes: dict[str, str] = {}  # device code -> "waiting" or "used"
        self.polls = 0
        self._serial = 0

    # --- for tests

    def issue(self, issued_ago: float = 0) -> dict:
        """A new pair, as Trakt's token answer (`samples/trakt_oauth_token.json`)."""
        with self.fake._lock:
            self._serial += 1
            serial = self._serial
        access = f"fake-access-{serial:04d}-{secrets.token_hex(12)}"
        refresh = f"fake-refresh-{serial:04d}-{secrets.token_hex(12)}"
        created = int(time.time() - issued_ago - self.fake.state["clock_behind"])
        expires_in = int(self.fake.state["expires_in"])
        with self.fake._lock:
            # Trakt's own clock decides when it stops taking the token, whatever created_at says.
            self.access[access] = time.time() - issued_ago + expires_in
            self.refresh_live[refresh] = access
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": refresh,
            "scope": "public",
            "created_at": created,
        }

    def expire_all(self) -> None:
        """Every access token issued so far has expired (as after a week nobody visited)."""
        with self.fake._lock:
            for token in self.access:
                self.access[token] = 0

    def reused_refresh_tokens(self) -> list[str]:
        with self.fake._lock:
            return [token for token, uses in self.refresh_uses.items() if uses > 1]

    def accepts(self, access: str) -> bool:
        with self.fake._lock:
            if access not in self.access:
                return True  # not ours: a test's own TRAKT_ACCESS_TOKEN
            good = access not in self.revoked and time.time() < self.access[access]
            if not good:
                self.refused_calls += 1
            return good

    def secrets_issued(self) -> set[str]:
        with self.fake._lock:
            return set(self.access) | set(self.refresh_uses) | set(self.refresh_live)

    # --- the endpoints

    def answer(self, path: str, body: dict) -> tuple[int, dict, bytes]:
        if body.get("client_id") != TRAKT_KEY:
            return oauth_error(401, "invalid_client")
        if path == "/oauth/device/code":
            return self.device_code()
        if body.get("client_secret") != TRAKT_SECRET:
            return oauth_error(401, "invalid_client")
        if path == "/oauth/device/token":
            return self.device_token(str(body.get("code")))
        if path == "/oauth/token":
            return self.renew(body)
        if path == "/oauth/revoke":
            return self.revoke(str(body.get("token")))
        return 404, {}, b""

    def device_code(self) -> tuple[int, dict, bytes]:
        code = secrets.token_hex(32)
        with self.fake._lock:
            self.device_codes[code] = "waiting"
        state = self.fake.state
        return json_answer(
            {
                "device_code": code,
                "user_code": secrets.token_hex(4).upper(),
                "verification_url": f"{self.fake.url}/auth/activate",
                "expires_in": state["device_expires_in"],
                "interval": state["device_interval"],
            }
        )

    def device_token(self, code: str) -> tuple[int, dict, bytes]:
        with self.fake._lock:
            self.polls += 1
            known = self.device_codes.get(code)
            script = self.fake.state["device_script"]
            status = int(script.pop(0)) if script else 200
        if known is None:
            return 404, {}, b""
        if known == "used":
            return 409, {}, b""
        if status != 200:
            # Trakt's 400 ("pending") has no usable body; nor have the others.
            return status, {"Content-Type": "application/json"}, b"" if status != 400 else b"{"
        with self.fake._lock:
            self.device_codes[code] = "used"
        return json_answer(self.issue(self.fake.state["issued_ago"]))

    def renew(self, body: dict) -> tuple[int, dict, bytes]:
        if body.get("grant_type") != "refresh_token" or not body.get("redirect_uri"):
            return oauth_error(400, "invalid_request")
        refresh = str(body.get("refresh_token"))
        fault = self.fake.state["refresh_fault"]
        with self.fake._lock:
            self.refresh_uses[refresh] += 1
            live = self.refresh_live.pop(refresh, None) if not fault else None
        if fault == "500":
            return 500, {"Content-Type": "text/html"}, b"<html>Internal Server Error</html>"
        if fault == "timeout":
            time.sleep(self.fake.state["timeout_seconds"])
            return oauth_error(503, "temporarily_unavailable")
        if fault == "invalid_client":
            return oauth_error(401, "invalid_client")
        if fault == "invalid_grant_400":
            return oauth_error(400, "invalid_grant")
        if fault == "invalid_grant" or live is None:
            return (
                401,
                {"Content-Type": "application/json"},
                fixture_bytes("trakt_oauth_token_error_401.json"),
            )
        pair = self.issue()
        if self.fake.state["auth_delay"]:
            time.sleep(self.fake.state["auth_delay"])  # swapped already: a slow answer
        return json_answer(pair)

    def revoke(self, token: str) -> tuple[int, dict, bytes]:
        with self.fake._lock:
            self.revoked.add(token)
            for refresh, access in list(self.refresh_live.items()):
                if access == token:
                    del self.refresh_live[refresh]
        return json_answer({})
