"""Run a socketserver on a thread and stop it at once.

`serve_forever` notices `shutdown()` only at its next poll (0.5 s by default), which every test
with a fake server used to pay on teardown. Here the loop also watches a wake-up socket, so
`stop()` returns as soon as the loop sees it. Stopping twice is harmless: a test may stop a
server (a crashed instance) that its fixture stops again at teardown.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading


class Serving:
    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.server, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_read in ready:
                    return
                self.server.handle_request()  # ready, so it does not block

    def stop(self) -> None:
        if self._wake_write.fileno() == -1:
            return  # already stopped
        self._wake_write.send(b"x")
        self._thread.join(timeout=10)
        self.server.server_close()
        self._wake_read.close()
        self._wake_write.close()
