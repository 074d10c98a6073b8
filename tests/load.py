"""Clients that ask a running site for its paths in turn, as fast as they are answered: the
load tests' one loop."""

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def answer(url: str, timeout: float = 10) -> tuple[int, bytes, str]:
    """Status, body and Content-Type of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def run_clients(
    base: str,
    paths: list[str],
    *,
    clients: int,
    seconds: float,
    record: Callable[[str, int, bytes, str, float], None],
    dropped: Callable[[str, OSError], None],
    join_by: float,
    timeout: float = 10,
) -> bool:
    """`clients` threads ask `paths` in turn (each from its own offset) for `seconds`; each
    answer goes to `record(path, status, body, content_type, took)`, each connection reset,
    refused or timed out to `dropped`. True if every client finished by the monotonic
    deadline `join_by`."""
    stop_at = time.monotonic() + seconds

    def loop(offset: int) -> None:
        turn = offset
        while time.monotonic() < stop_at:
            path = paths[turn % len(paths)]
            turn += 1
            started = time.monotonic()
            try:
                status, body, content_type = answer(base + path, timeout)
            except OSError as error:
                dropped(path, error)
                continue
            record(path, status, body, content_type, time.monotonic() - started)

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.1, join_by - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)
