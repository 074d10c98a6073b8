"""The one outbound chokepoint: every call to Trakt or TMDB goes through `send()`.

One `requests.Session` (a User-Agent on every call: Trakt's CDN answers 403 without one),
a (connect, read) timeout, a total deadline and a cap on the body size. Any method, an
optional JSON body, and the answer's status, headers and body handed back as a `Reply`.
Transport failures become `UpstreamError` (timeout, unavailable); what a status means is
the caller's business (`trakt.py`, `tmdb.py`).

In demo mode `send()` answers from `profile.demo` instead of the network, so everything
above the HTTP layer (status handling, parsing, caching, the sync) runs as in production.
"""

from __future__ import annotations

import contextvars
import heapq
import http.client
import ipaddress
import itertools
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pydantic_core
import requests
import urllib3
from django.conf import settings
from pydantic import BaseModel, ValidationError
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from nowwatching import __version__
from profile.client.errors import UpstreamError, bad_response, service_name

USER_AGENT = f"nowwatching/{__version__}"
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = {"trakt": 4.0, "trakt-auth": 4.0, "tmdb": 3.0, "avatar": 3.0}
# The whole exchange (connect, TLS, request, status line, headers, body) ends by this
# deadline, enforced at the socket (see `_Watchdog`): a read timeout alone bounds each
# socket read, so an upstream that drips its answer one byte at a time would outlive it.
TOTAL_DEADLINE = {"trakt": 5.0, "trakt-auth": 5.0, "tmdb": 3.0, "avatar": 3.0}
MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive from requests
    body: bytes = b""


# --- The total deadline, at the socket ----------------------------------------------------------


class _Exchange:
    """One call of `send()`: its deadline and the sockets it uses. When the deadline passes,
    the watchdog shuts those sockets down, which ends whatever read or write is blocked on
    them (a status line, headers or a body that never finish) at once."""

    def __init__(self, seconds: float, public_only: bool = False):
        self.deadline = time.monotonic() + seconds
        self.public_only = public_only  # connect to public addresses only (no SSRF)
        self.expired = False
        self._done = False
        self._sockets: list[tuple[socket.socket, bool]] = []  # (socket, ours to close)
        self._lock = threading.Lock()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, sock: socket.socket, *, owned: bool = False) -> None:
        with self._lock:
            if not self._done:
                self._sockets.append((sock, owned))
                if not self.expired:
                    return
        _shut(sock)  # registered after the deadline (or the end): cut at once

    def expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock, _ in self._sockets:
                _shut(sock)

    def finish(self) -> None:
        """The exchange is over: from now on its sockets (perhaps back in the pool, serving
        another exchange) are never touched by the watchdog."""
        with self._lock:
            self._done = True
            sockets, self._sockets = self._sockets, []
        for sock, owned in sockets:
            if owned:
                sock.close()


def _shut(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, even on an SSLSocket: the TLS object is left alone
        # (the reading thread still uses it) and its next read sees the end of the stream.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


class _Watchdog:
    """One thread per process that expires exchanges whose deadline has passed."""

    def __init__(self):
        self._queue: list[tuple[float, int, _Exchange]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, exchange: _Exchange) -> None:
        with self._wake:
            heapq.heappush(self._queue, (exchange.deadline, next(self._order), exchange))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="upstream-deadlines", daemon=True
                )
                self._thread.start()
            elif self._queue[0][2] is exchange:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(wait)
                _, _, exchange = heapq.heappop(self._queue)
            exchange.expire()

    def _after_fork(self) -> None:
        # A forked child (a gunicorn worker) has no watchdog thread: start afresh.
        self._queue = []
        self._wake = threading.Condition()
        self._thread = None


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._after_fork)
_current: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "upstream_exchange", default=None
)


class _DeadlineConnectionMixin:
    """A urllib3 connection that hands its socket to the current exchange."""

    def _new_conn(self):
        exchange = _current.get()
        if exchange is not None:
            # Connecting (DNS aside) never outlasts what is left of the deadline.
            left = max(0.001, exchange.left())
            self.timeout = left if self.timeout is None else min(self.timeout, left)
        sock = super()._new_conn()
        if exchange is not None and exchange.public_only and not _public_peer(sock):
            sock.close()
            raise OSError("refused: not a public address")
        if exchange is not None:
            # A duplicate of the descriptor: it outlives TLS wrapping (which detaches the
            # original), so the handshake is covered too. Shutting it down shuts the
            # connection; closing it does not.
            exchange.watch(sock.dup(), owned=True)
        return sock

    def request(self, *args, **kwargs):
        exchange = _current.get()
        if exchange is not None and self.sock is not None:
            exchange.watch(self.sock)  # a kept-alive connection, reused
        return super().request(*args, **kwargs)


def _public_peer(sock: socket.socket) -> bool:
    """Whether the socket is connected to a public address (not this machine, a private or
    link-local network, a reserved range): checked where it connected, so a name that
    resolves elsewhere by then changes nothing."""
    try:
        address = ipaddress.ip_address(sock.getpeername()[0])
    except (OSError, ValueError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections that obey the exchange's total deadline. Only the
    pool classes change: `send` stays requests' own (the `responses` library patches it)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, *args, **kwargs):
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def _no_demo(service: str, *args) -> Reply:
    raise UpstreamError("not_configured", "DEMO_MODE is on, but no demo data was installed.")


# What answers in DEMO_MODE instead of the network: `profile.demo.reply`, installed by the app
# at start-up (profile/apps.py), so the demo runs the same parsing and caching as production.
_demo_reply: Callable[..., Reply] = _no_demo


def answer_demo_with(reply: Callable[..., Reply]) -> None:
    global _demo_reply
    _demo_reply = reply


_session = requests.Session()
_session.headers["User-Agent"] = USER_AGENT
_session.mount("http://", DeadlineAdapter())
_session.mount("https://", DeadlineAdapter())


def send(
    service: str,
    method: str,
    base: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    public_only: bool = False,
) -> Reply:
    """The only function that does network I/O (or asks the demo data instead).
    `public_only`: connect to a public address only (an address a profile names)."""
    if settings.DEMO_MODE:
        return _demo_reply(service, method, path, dict(params or {}), json_body)

    exchange = _Exchange(TOTAL_DEADLINE.get(service, 3.0), public_only)
    _watchdog.add(exchange)
    token = _current.set(exchange)
    try:
        with _session.request(
            method,
            base + path,
            params=params,
            json=json_body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT.get(service, 3.0)),
            stream=True,
            allow_redirects=False,
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(service)
            body = bytearray()
            # Decoding is bounded too: urllib3 inflates a gzip body by at most what is asked.
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(service)
            if exchange.expired:
                # A cut connection can look like a short answer (headers without their end,
                # a body without a length): it is a timeout all the same.
                raise _timeout(service)
            return Reply(response.status_code, response.headers, bytes(body))
    except UpstreamError:
        raise
    # Reading `response.raw` raises urllib3's own errors, not requests' wrappers.
    # Never log or pass on str(exc): it holds the URL, and TMDB's may carry api_key.
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        raise _timeout(service) from None
    except urllib3.exceptions.DecodeError:
        if exchange.expired:
            raise _timeout(service) from None
        raise bad_response(service, "an answer it could not decompress") from None
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
        ValueError,
    ):
        # ValueError: http.client refuses a status line or a header it cannot parse.
        if exchange.expired:
            raise _timeout(service) from None
        raise UpstreamError(
            "unavailable", f"{service_name(service)} could not be reached.", service=service
        ) from None
    finally:
        _current.reset(token)
        exchange.finish()


def _timeout(service: str) -> UpstreamError:
    return UpstreamError(
        "timeout", f"{service_name(service)} did not answer in time.", service=service
    )


def _too_big(service: str) -> UpstreamError:
    return bad_response(service, "an answer too large to read")


# A \\uXXXX escape of a UTF-16 surrogate, as a valid pair or alone, not itself escaped.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)"
    rb"(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)


def decode_json(service: str, reply: Reply) -> Any:
    """The body as JSON, decoded within limits; `bad_response` when it is not JSON.

    pydantic's decoder (not the json module) refuses nesting deeper than 200 levels, which
    would otherwise end in a RecursionError; NaN and Infinity are not JSON either. A lone
    surrogate (a string no page can encode) would make it refuse the whole body: it becomes
    U+FFFF instead, which the schemas' text fields refuse, so only that field fails.
    """
    try:
        return json_from_bytes(reply.body)
    except ValueError:
        raise bad_response(service, "an answer that is not JSON") from None


def json_from_bytes(body: bytes) -> Any:
    """`body` decoded as `decode_json` does (the same limits); ValueError if it is not JSON.
    For JSON that comes from elsewhere than a reply (a file of Trakt's data export)."""
    if b"\\u" in body:
        body = _SURROGATE_ESCAPE.sub(_mark_lone_surrogate, body)
    return pydantic_core.from_json(body, allow_inf_nan=False)


def _mark_lone_surrogate(match: re.Match) -> bytes:
    escape = match[2]
    return match[1] + (escape if len(escape) == 12 else rb"\uffff")


def parse(model: type[BaseModel], data: Any, service: str = "trakt"):
    """`data` checked into `model`; a body of another shape is `bad_response`."""
    try:
        return model.model_validate(data)
    except ValidationError:
        raise bad_response(service) from None


# Plain ASCII digits (a fraction tolerated), as few as any real delay needs.
_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


def retry_after_seconds(headers: Mapping[str, str]) -> int:
    """`Retry-After` in whole seconds, within 1 s to 1 h; 60 when it is missing or nonsense.

    Seconds ("120") or an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"), as RFC 9110 allows.
    """
    raw = headers.get("Retry-After", "").strip()
    if _SECONDS.fullmatch(raw):
        seconds = float(raw)
    elif len(raw) <= 64:
        try:
            when = parsedate_to_datetime(raw)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError, IndexError, OverflowError):
            return 60
    else:
        return 60
    if not math.isfinite(seconds):
        return 60
    return math.ceil(min(max(seconds, 1.0), 3600.0))


def header_int(
    headers: Mapping[str, str], name: str, *, low: int = 0, high: int = 10**9
) -> int | None:
    """An integer header (`X-Pagination-Page`, ...) within [low, high]; None when it is
    missing or nonsense (a sign, a fraction, a thousand digits)."""
    raw = headers.get(name, "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    value = int(raw)
    return value if low <= value <= high else None
