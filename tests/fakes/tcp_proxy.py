"""A TCP proxy on 127.0.0.1 in front of PostgreSQL that a test (or the fault bench) can cut or hang.

`cut()` drops every connection and refuses new ones, like a database that restarts or a network
that drops; `hang()` keeps connections open but forwards nothing and accepts new ones without ever
answering, like a database stuck on I/O or a half-dead network path; `restore()` goes back to
forwarding. Only the proxy's own connections are affected: the shared server is never touched.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        #: connections accepted and closed at once while cut (a client trying to reconnect)
        self.refused = 0
        #: connections accepted while hung
        self.stalled = 0
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._running = True
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    @classmethod
    def for_url(cls, database_url: str) -> TcpProxy:
        parts = urlsplit(database_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def url(self, database_url: str) -> str:
        """`database_url` pointed at this proxy (user, database and query kept)."""
        parts = urlsplit(database_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # -- faults ---------------------------------------------------------------------------------

    def cut(self) -> None:
        with self._lock:
            self.mode = "cut"
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def hang(self) -> None:
        with self._lock:
            self.mode = "hang"

    def restore(self) -> None:
        """Forward again; connections accepted while hung are dropped (they never got a server)."""
        with self._lock:
            self.mode = "pass"
            held, self._held = self._held, []
        for sock in held:
            _close(sock)

    def stop(self) -> None:
        self._running = False
        _close(self._listener)
        self.cut()
        self.restore()

    # -- plumbing -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self.mode
                if mode == "cut":
                    self.refused += 1
                elif mode == "hang":
                    self.stalled += 1
                    self._held.append(client)
                    continue
            if mode == "cut":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([src], [], [], 0.1)
                if self.mode == "hang" or not readable:
                    if src.fileno() < 0:
                        return
                    time.sleep(0.05 if readable else 0)
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, ValueError):
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
