"""A small thread-safe TTL map for what rarely changes in a portal (roles, teams, owners, token)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class TTLCache:
    """A small thread-safe TTL map; failures are never stored, so an outage is not remembered."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            hit = self._data.get(key)
            if hit and self._clock() - hit[0] < self.ttl:
                return True, hit[1]
            self._data.pop(key, None)
            return False, None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (self._clock(), value)

    def load(self, key: Any, loader: Callable[[], Any]) -> Any:
        found, value = self.get(key)
        if found:
            return value
        value = loader()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

