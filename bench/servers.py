"""Which server set-up `make serve` uses, measured: slow clients, then speed.

For each candidate, gunicorn (2 workers) serves the site against the fake Trakt/TMDB with a
warm Redis cache, and this script measures:

- how long a normal request to /api/watching takes alone, and while 30 connections drip
  their headers a byte every 0.2 s and 30 more sit idle (sequential requests, 5 s timeout);
- requests per second and p99 of /healthz, /api/watching and / under wrk (16 connections).

    .venv/bin/python bench/servers.py [--seconds 3]

Candidates: gunicorn's sync and gthread workers with Django's WSGI handler; gunicorn's asgi
worker with Django's own ASGI handler; gunicorn's asgi worker with Django's WSGI handler in
a2wsgi's thread pool (nowwatching/asgi.py: what `make serve` runs); and uvicorn's worker with
the same, if uvicorn-worker is installed (it is not a dependency). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine, prime, wrk  # noqa: E402
from tests.fake_upstream import FakeUpstream  # noqa: E402
from tests.servers import gunicorn, redis_server  # noqa: E402

CANDIDATES = {
    "sync worker, WSGI": ("--worker-class", "sync", "nowwatching.wsgi:application"),
    "gthread worker (8 threads), WSGI": (
        "--worker-class", "gthread", "--threads", "8", "nowwatching.wsgi:application"
    ),
    "asgi worker, Django's ASGI handler": (
        "--worker-class", "asgi", "django.core.asgi:get_asgi_application()"
    ),
    "asgi worker, WSGI in a2wsgi's threads (make serve)": (),
}  # fmt: skip
if importlib.util.find_spec("uvicorn_worker"):
    CANDIDATES["uvicorn worker, WSGI in a2wsgi's threads"] = (
        "--worker-class", "uvicorn_worker.UvicornWorker", "nowwatching.asgi:application"
    )  # fmt: skip
SLOW, IDLE = 30, 30


def timed(url: str, count: int) -> list[float]:
    """Seconds per request, sequentially; a request that fails or times out counts as 5 s."""
    took = []
    for _ in range(count):
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            took.append(time.monotonic() - started)
        except OSError:
            took.append(5.0)
    return sorted(took)


def slow_client(port: int, drips: bool, stop: threading.Event) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            if drips:
                sock.sendall(b"GET /api/watching HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            while not stop.wait(0.2):
                if drips:
                    sock.sendall(b"x")
    except OSError:
        pass


def with_slow_clients(url: str, port: int) -> list[float]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=slow_client, args=(port, n < SLOW, stop), daemon=True)
        for n in range(SLOW + IDLE)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)  # letting them connect and start dripping
    try:
        return timed(url, 20)
    finally:
        stop.set()


def ms(seconds: float) -> str:
    return "timed out" if seconds >= 5 else f"{seconds * 1000:.1f} ms"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="wrk seconds per URL")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}\n", flush=True)
    rows = []
    with FakeUpstream(delay=0.3) as fake, redis_server() as redis_url:
        for name, options in CANDIDATES.items():
            env = fake.env() | {
                "CACHE_URL": redis_url,
                "DJANGO_SETTINGS_MODULE": "nowwatching.settings",
            }
            with gunicorn(env, workers=2, args=options) as site:
                port = int(site.url.rsplit(":", 1)[1])
                for path in ("/api/watching", "/", "/healthz"):
                    prime(site.url + path, 2)
                alone = timed(site.url + "/api/watching", 50)
                slow = with_slow_clients(site.url + "/api/watching", port)
                speed = {}
                for path in ("/healthz", "/api/watching", "/"):
                    result = wrk(site.url + path, args.seconds, 16)
                    rate = result["requests"] / (result["duration_us"] / 1e6)
                    speed[path] = f"{rate:.0f} req/s, p99 {result['p99_us'] / 1000:.1f} ms"
            rows.append(
                f"| {name} | {ms(alone[len(alone) // 2])} | {ms(slow[len(slow) // 2])} / "
                f"{ms(slow[-1])} | {speed['/healthz']} | {speed['/api/watching']} | {speed['/']} |"
            )
            print(rows[-1], flush=True)
    print(
        f"\n| set-up (2 workers) | /api/watching alone, p50 | with {SLOW} dripping + {IDLE} idle "
        "clients, p50 / slowest | /healthz | /api/watching | / |\n|---|---:|---:|---:|---:|---:|"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
