"""The two backends: SQLite for one process, PostgreSQL (pooled, with deadlines) for several.

SQL is written once with `?` placeholders in the table-family mixins; the PostgreSQL backend
rewrites them to `%s`; values always travel as parameters. This module owns the connections:
SQLite's WAL and writer lock, PostgreSQL's pool, per-call deadline, watchdog and fail-fast
probing, and `open_store`. `Store` is composed here because both backends subclass it.
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import bot.metrics as metrics
from bot.store.audit_log import AuditMixin
from bot.store.base import StoreError, StoreUnavailable
from bot.store.claims import ClaimsMixin
from bot.store.fixes import FixRequestsMixin
from bot.store.history import HistoryMixin

log = logging.getLogger(__name__)


class Store(ClaimsMixin, HistoryMixin, FixRequestsMixin, AuditMixin):
    """Backend-neutral operations; subclasses provide connections and the placeholder style."""


class SQLiteStore(Store):
    """One connection per thread, WAL and a busy timeout so several processes can share a file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        if path == ":memory:":
            # Every thread must see the same in-memory database.
            self._target, self._uri = f"file:hsperm-{os.urandom(6).hex()}?mode=memory&cache=shared", True
            self._keepalive: sqlite3.Connection | None = self._connect()
        else:
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            self._target, self._uri, self._keepalive = path, False, None
        self.url_for_logs = f"sqlite:///{path}"
        self._writer = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._target, uri=self._uri, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        if not self._uri:
            _enable_wal(conn)
            # WAL + NORMAL is durable against process crashes, which is what dedupe needs.
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.url_for_logs}: {exc}") from exc

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        # SQLite allows one writer; a waiting connection sleeps in steps of milliseconds. Threads of
        # this process queue on a lock instead, which hands over in microseconds and keeps acks fast.
        # Other processes on the same file still wait through busy_timeout.
        with self._writer:
            cur = self._conn().cursor()
            try:
                yield cur
            finally:
                cur.close()

    @contextmanager
    def _migration_transaction(self) -> Iterator[sqlite3.Cursor]:
        conn = self._conn()
        cur = conn.cursor()
        # IMMEDIATE takes the write lock first, so two starting processes migrate one after the other.
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    def close(self) -> None:
        super().close()
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None


def _enable_wal(conn: sqlite3.Connection) -> None:
    """WAL lets readers and one writer work at once. The mode is stored in the file, so only the
    first connection ever switches it; switching ignores busy_timeout, hence the short retry when
    several processes open a new file at the same moment."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.02)


class _Watchdog:
    """Severs a connection whose statement outlives its deadline: a client-side statement timeout.

    `statement_timeout` only helps while PostgreSQL is alive; a server (or a proxy, or a network)
    that accepts bytes and never answers leaves libpq waiting forever. Shutting the socket down
    makes the waiting call fail at once with a broken connection, which the pool then discards.
    One thread serves every connection of the store, so the cost per query is a heap push.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any, list[bool]]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, conn: Any, deadline: float) -> Iterator[None]:
        entry: list[bool] = [False]  # [done]
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (deadline, self._seq, conn, entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hsperm-db-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield
        finally:
            entry[0] = True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][3][0]:
                    heapq.heappop(self._heap)
                wait = None if not self._heap else self._heap[0][0] - time.monotonic()
                if wait is None or wait > 0:
                    self._cond.wait(timeout=wait if wait is None else min(wait, 0.5))
                    continue
                _, _, conn, entry = heapq.heappop(self._heap)
            if not entry[0]:
                _sever(conn)


def _sever(conn: Any) -> None:
    try:
        fd = conn.fileno()
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
        log.warning("a database call exceeded its deadline; its connection was cut")
    except Exception:
        log.debug("could not cut a stalled database connection", exc_info=True)


class PostgresStore(Store):
    """psycopg 3 through a connection pool with health checks, and a deadline on every call.

    Why a pool and not one connection per thread: after PostgreSQL restarts, every thread's
    connection is broken and each thread found out only by failing one request (and losing the
    work in it). The pool checks a connection before lending it and replaces broken ones in the
    background, so the first request after an outage gets a working connection.

    Why deadlines: acks run database calls (event dedupe) and Slack gives an ack 3 seconds. Each
    call gets `timeout` seconds in total: waiting for a pooled connection, the health check and the
    statement (server-side `statement_timeout`, plus `_Watchdog` for a server that never answers).
    Past it the call raises `StoreUnavailable` and the caller answers 503 or retries later.
    """

    #: Any fixed number works; it only has to be the same for every hsperm instance.
    MIGRATION_LOCK_KEY = 0x68737065726D

    def __init__(self, url: str, *, timeout: float = 1.0, pool_size: int = 10) -> None:
        super().__init__()
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        self._url = url
        self.timeout = timeout
        self.url_for_logs = re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
        self._watchdog = _Watchdog()
        self._deadline = threading.local()
        self._failing_until = 0.0
        self._probe = threading.Lock()
        from psycopg.conninfo import conninfo_to_dict

        # Keep the URL's own options (e.g. a search_path) and add the server-side statement timeout.
        timeout_option = f"-c statement_timeout={int(timeout * 1000)}"
        options = " ".join(filter(None, [conninfo_to_dict(url).get("options"), timeout_option]))
        self._pool = ConnectionPool(
            url,
            kwargs={
                "autocommit": True,
                # libpq wants whole seconds, at least 2; the pool's getconn timeout is the real bound.
                "connect_timeout": max(2, int(timeout + 0.999)),
                "options": options,
            },
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            check=self._check,
            timeout=timeout,
            max_idle=300,
            reconnect_timeout=24 * 3600,  # keep trying: an outage must not shrink the pool for good
            name="hsperm",
        )
        self._pool.open(wait=False)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _check(self, conn: Any) -> None:
        """The pool's health check, bounded by the caller's deadline like any statement."""
        deadline = getattr(self._deadline, "at", None) or time.monotonic() + self.timeout
        with self._watchdog.guard(conn, deadline):
            conn.execute("")

    @contextmanager
    def _connection(self, timeout: float) -> Iterator[Any]:
        # After a failure, one caller at a time probes the database and the others fail at once:
        # with PostgreSQL hung, every ack waiting its full deadline would back requests up behind
        # each other (8 threads x 1 s each) until acks passed Slack's 3 s anyway.
        probing = False
        if time.monotonic() < self._failing_until:
            if not self._probe.acquire(blocking=False):
                raise StoreUnavailable("database unavailable (failing fast after a recent failure)")
            probing = True
        try:
            with self._checked_out(timeout) as conn:
                yield conn
            if self._failing_until:
                self._failing_until = 0.0
                metrics.store_failing(False)
        except StoreUnavailable:
            if not self._failing_until:
                metrics.store_failing(True)
            self._failing_until = time.monotonic() + self.timeout
            metrics.store_unavailable()
            raise
        finally:
            if probing:
                self._probe.release()

    @contextmanager
    def _checked_out(self, timeout: float) -> Iterator[Any]:
        deadline = time.monotonic() + timeout
        self._deadline.at = deadline
        try:
            conn = self._pool.getconn(timeout=timeout)
        except self._psycopg.Error as exc:
            raise StoreUnavailable(f"no database connection within {timeout:g} s ({type(exc).__name__})") from None
        finally:
            self._deadline.at = None
        try:
            with self._watchdog.guard(conn, deadline):
                yield conn
        except (self._psycopg.OperationalError, self._psycopg.InterfaceError) as exc:
            # OperationalError: the server went away mid-call; InterfaceError: the connection was
            # already closed under us (a cut socket). Both mean "unavailable", not a bad statement.
            raise StoreUnavailable(f"database call failed: {_first_line(exc)}") from None
        finally:
            self._pool.putconn(conn)  # a broken connection is discarded and replaced by the pool

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._connection(self.timeout) as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def _migration_transaction(self) -> Iterator[Any]:
        # A connection of its own, not the pool's: at start-up an unreachable database should fail
        # with libpq's reason (refused, unknown host) at once, not after the pool's retries.
        try:
            conn = self._psycopg.connect(self._url, autocommit=True, connect_timeout=5)
        except self._psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.url_for_logs}: {_first_line(exc)}") from None
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (self.MIGRATION_LOCK_KEY,))
                yield cur
        finally:
            conn.close()

    def close(self) -> None:
        super().close()
        self._pool.close(timeout=5)


def _first_line(exc: BaseException) -> str:
    """libpq messages name host and user but never the password; keep only the first line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_store(database_url: str, *, migrate: bool = True, timeout: float = 1.0, pool_size: int = 10) -> Store:
    """Open the store named by DATABASE_URL and (by default) bring its schema up to date.

    `timeout` bounds every PostgreSQL call (DATABASE_TIMEOUT_SECONDS), `pool_size` its connections
    per process (DATABASE_POOL_SIZE); SQLite is local and ignores both."""
    if database_url.startswith("sqlite:///"):
        store: Store = SQLiteStore(unquote(database_url[len("sqlite:///") :]) or "hsperm.db")
    elif database_url.startswith(("postgres://", "postgresql://")):
        store = PostgresStore(database_url, timeout=timeout, pool_size=pool_size)
    else:
        raise StoreError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
    if migrate:
        try:
            store.migrate()
        except StoreError:
            store.close()
            raise
        except Exception as exc:
            store.close()
            where = store.url_for_logs
            raise StoreError(f"cannot prepare the database at {where}: {type(exc).__name__}: {exc}") from exc
    return store
