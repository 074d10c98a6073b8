"""Django's SQLite backend with the guard's breaker (nowwatching/databases/guard.py): a
missing, unreadable or unmigrated file is one warning, then refused at once until it reads
again. SQLite answers from a local file: there is no socket to cut, and its writer lock
waits on its own busy timeout."""

from django.db.backends.sqlite3 import base

from nowwatching.databases.guard import Guarded


class DatabaseWrapper(Guarded, base.DatabaseWrapper):
    pass
