"""Django's PostgreSQL backend with the guard (nowwatching/databases/guard.py): a connect
timeout, statement and lock timeouts from the current limits, a deadline cut at the socket,
and the breaker."""

from django.db.backends.postgresql import base

from nowwatching.databases.guard import Guarded, _shut, current


class DatabaseWrapper(Guarded, base.DatabaseWrapper):
    cut_at_socket = True

    def where(self) -> str:
        settings = self.settings_dict
        host = settings.get("HOST") or "localhost"
        port = settings.get("PORT") or 5432
        return f"{host}:{port}/{settings.get('NAME') or ''}"

    def get_connection_params(self):
        params = super().get_connection_params()
        limits = current()
        params["connect_timeout"] = max(2, int(limits.connect))
        server_side = [params.get("options", "")]
        if limits.statement is not None:
            server_side.append(f"-c statement_timeout={int(limits.statement * 1000)}")
        if limits.lock is not None:
            server_side.append(f"-c lock_timeout={int(limits.lock * 1000)}")
        options = " ".join(part for part in server_side if part)
        if options:
            params["options"] = options
        return params

    def _shut_socket(self) -> None:
        connection = self.connection
        if connection is not None:
            try:
                descriptor = connection.pgconn.socket
            except Exception:  # closed meanwhile: psycopg says so in its own way
                return
            _shut(descriptor)
