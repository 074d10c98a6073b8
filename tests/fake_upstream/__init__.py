"""A loopback fake of Trakt and TMDB for end-to-end, browser and load tests, and the benchmark.

Nothing in the test suite ever calls the real hosts: point the site at this server with
    TRAKT_API_URL={url}/trakt  TMDB_API_URL={url}/tmdb/3  TMDB_IMAGE_URL={url}/img
(`FakeUpstream.env()` gives exactly that).

Its parts: `server.py` (the state and the handler), `common.py` (keys, payloads, faults),
`hostile.py` (odd bodies), `auth.py` (Trakt's auth host), `history.py` (the mirror's pages),
`library.py` (the favourites, watchlist, lists and comments), `social.py` (whom the owner
follows, what they watch, and Trakt's id lookup).

In-process:   with FakeUpstream() as fake: fake.set(watching="episode"); fake.calls("trakt")
As a program: python -m tests.fake_upstream --port 0 --delay 0.3   (prints "listening on PORT")
and then control it over HTTP: POST /_control {json state}, GET /_calls, POST /_reset.

State (see DEFAULTS): `watching` picks a scenario (movie, episode, checkin, idle,
unknown_action, no_ids, null_year, untitled_episode, markup); `delay` slows every answer;
`watching_delay` only /watching; `trakt_fault` / `tmdb_fault` name a fault for every call of
that service (see FAULTS, WIRE_FAULTS, or a bare HTTP status like "502"); `flip` cycles
through faults every `flip_seconds` (the load test); `hostile` names a HOSTILE case: valid
JSON whose fields are odd (dates at the calendar's ends, lone surrogates, huge numbers, ...),
applied to every Trakt and TMDB body. The history mirror's
state (`history`, `ratings`, ...) is described in its own section below (HISTORY_DEFAULTS);
the library's (`favorites`, `watchlist`, `lists`, `comments`, `library_moves`) in
library.py (LIBRARY_DEFAULTS).

Trakt's auth host is at {url}/auth (`TRAKT_AUTH_URL`), with the device flow, token renewal and
revocation; see the section "Trakt's auth host" below and `FakeTokens`. Tokens the fake issued
are checked on every API call (expired, revoked or retired ones get 401); a token it never
issued (a test's TRAKT_ACCESS_TOKEN) is taken as valid.
"""

from tests.fake_upstream.common import (
    ABSURD_RATE_LIMITS,
    DEFAULTS,
    FAULTS,
    TMDB_KEY,
    TRAKT_KEY,
    TRAKT_SECRET,
    WIRE_FAULTS,
    fixture,
)
from tests.fake_upstream.history import generated_movie, generated_show
from tests.fake_upstream.hostile import HOSTILE
from tests.fake_upstream.server import FakeUpstream  # noqa: F401

__all__ = [
    "ABSURD_RATE_LIMITS",
    "DEFAULTS",
    "FAULTS",
    "HOSTILE",
    "TMDB_KEY",
    "TRAKT_KEY",
    "TRAKT_SECRET",
    "WIRE_FAULTS",
    "FakeUpstream",
    "fixture",
    "generated_movie",
    "generated_show",
]
