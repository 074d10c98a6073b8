"""Slow and idle clients cannot starve `make serve`'s set-up (gunicorn's asgi worker,
nowwatching/gunicorn.conf.py): the event loop reads every request before a thread takes it,
so connections dripping their headers (or a body) cost a socket each, never a thread.

With gunicorn's sync or gthread workers, 30 such connections made normal requests wait until
they timed out (README, "Deploying").
"""

import time
import urllib.request

from tests.servers import gunicorn
from tests.test_faults_under_load import SlowClients

WORKERS = 2
# Far more than the threads that run Django (nowwatching/asgi.py: 4 per worker).
SLOW = 64


def timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status, time.monotonic() - started


def test_dozens_of_slow_and_idle_connections_do_not_hold_up_a_normal_request(fake):
    with gunicorn(fake.env(), workers=WORKERS) as site:
        port = int(site.url.rsplit(":", 1)[1])
        url = site.url + "/api/watching"
        timed_get(url)  # warm
        with SlowClients(port, dripping=SLOW, idle=SLOW, dripping_body=SLOW // 2):
            time.sleep(1)  # letting the slow clients connect and start dripping
            answers = [timed_get(url) for _ in range(40)]
        log = site.log_text()

    assert {status for status, _ in answers} == {200}
    # No answer waited on a slow client (a starved server would time out at 10 s).
    assert max(seconds for _, seconds in answers) < 1.0
    assert "Traceback" not in log
