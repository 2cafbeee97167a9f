"""What every backend and table family builds on: errors, per-thread connections and the schema.

Table-family mixins (claims, history, fix requests, audit log) only need `_cursor`, `_sql` and
`_fetch`; backends (bot.store.backends) only need to supply connections. This module is the
contract between the two, so neither side has to know the other.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import bot.store.migrations as migrations

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The database cannot be reached or used; the message never contains a password."""


class StoreUnavailable(StoreError):
    """The database did not answer in time or the connection broke: retry later, nothing was decided."""


class StoreBase:
    """Backend-neutral plumbing; subclasses provide connections and the placeholder style."""

    url_for_logs: str = ""

    def __init__(self) -> None:
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()
        # One connection per thread: listener threads never wait on each other's queries.
        self._local = threading.local()
        self._connections: dict[threading.Thread, Any] = {}
        self._connections_lock = threading.Lock()

    # -- backend hooks -------------------------------------------------------------------------

    def _open(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _usable(self, conn: Any) -> bool:
        return True

    @contextmanager
    def _cursor(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    @contextmanager
    def _migration_transaction(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _sql(self, statement: str) -> str:
        return statement

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
            conn = self._open()
            self._local.conn = conn
            with self._connections_lock:
                # Servers that start a thread per request would otherwise leave a connection
                # behind for every finished thread.
                for thread in [t for t in self._connections if not t.is_alive()]:
                    _close_quietly(self._connections.pop(thread))
                stale = self._connections.get(threading.current_thread())
                if stale is not None:
                    _close_quietly(stale)
                self._connections[threading.current_thread()] = conn
        return conn

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections.values():
                _close_quietly(conn)
            self._connections.clear()
        self._local = threading.local()

    # -- schema --------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION; safe when several instances start at once."""
        with self._migration_transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM schema_version")
            applied = {row[0] for row in cur.fetchall()}
            for version, statements in migrations.MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(self._sql("INSERT INTO schema_version (version) VALUES (?)"), (version,))
                log.info("database migrated to schema version %s", version)
                applied.add(version)
        return max(applied, default=0)

    def schema_version(self) -> int:
        with self._cursor() as cur:
            cur.execute("SELECT MAX(version) FROM schema_version")
            return cur.fetchone()[0] or 0

    def ping(self) -> None:
        """Raise StoreError unless the database answers a query and the schema is in place."""
        try:
            version = self.schema_version()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"database check failed: {type(exc).__name__}") from exc
        if version < migrations.SCHEMA_VERSION:
            raise StoreError(f"database schema is at version {version}, expected {migrations.SCHEMA_VERSION}")

    def _fetch(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self._cursor() as cur:
            cur.execute(self._sql(statement), tuple(params))
            return cur.fetchall()


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:
        log.debug("closing a database connection failed", exc_info=True)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
