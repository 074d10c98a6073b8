"""gunicorn's configuration (`gunicorn --config python:nowwatching.gunicorn_conf ...`).

A configuration error is printed once, by the master, before any worker starts: without
this each worker would print it (and gunicorn its own lines about each).
"""

from nowwatching.startup import settings_or_exit


def on_starting(server):
    settings_or_exit()
