"""Django's PostgreSQL backend, with a health check that needs no query while the connection is quiet.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before the first query of each
request by running ``SELECT 1``: one more round trip and one more statement for the server on
every vote. A connection that PostgreSQL ended (a restart, ``pg_terminate_backend``, an idle
timeout) has a socket with something to read: the server's last message, then end of file. A
quiet, healthy connection has nothing to read between requests. So the socket is polled first,
without blocking; only when it has something to read does Django's own ``SELECT 1`` decide
(it fails on a closed connection and consumes a harmless notice). A peer that vanished without
closing is missed by both checks alike until TCP gives up.
"""
from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):  # the descriptor is gone
            return False
        return super().is_usable() if readable else True
