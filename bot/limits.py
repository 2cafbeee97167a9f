"""Limits on live lookups: per user, per HubSpot portal, and one run for identical lookups.

A lookup costs several HubSpot calls, and a portal's HubSpot rate limit is shared by everything
using it. One person clicking or typing `/hsperm user …` six times a second used to start six
lookups a second (910 HubSpot calls for 300 commands) and, with HubSpot slow, filled every work
thread. So, per instance:
- each Slack user may start `per_user_per_minute` lookups a minute; beyond that the ack itself
  says so (no work queued, no HubSpot call);
- each portal has at most `per_portal` lookups running; it is set below the work queue's
  thread count so a hanging HubSpot can never take every thread that posts replies;
- identical lookups in flight (same person, ticket, portal, required permissions) run once and
  every asker gets the same report.

The limits are per process, not shared through the database: they protect this process's threads
and HubSpot from a burst; N instances allow at most N times as much, which the portal's own rate
limit (and the client's 429 handling) still bounds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import bot.metrics as metrics

T = TypeVar("T")

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Refusal:
    """Why a lookup was not started, in words for the person who asked."""

    text: str


class LookupLimits:
    def __init__(
        self, per_user_per_minute: int, per_portal: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_user = per_user_per_minute
        self.per_portal = per_portal
        self._clock = clock
        self._lock = threading.Lock()
        self._starts: dict[str, deque[float]] = {}
        self._running: dict[str, int] = {}
        self._inflight: dict[Hashable, Future[Any]] = {}
        #: lookups refused so far, by reason ("user", "portal"); also counted in /metrics
        self.refused: dict[str, int] = {"user": 0, "portal": 0}
        #: lookups that joined an identical one already running
        self.coalesced = 0

    def admit(self, user_id: str, portal: str | None) -> Refusal | None:
        """Count a lookup for `user_id` and take a slot on `portal`; a Refusal when either is full.

        An admitted lookup must call `release(portal)` when it ends (or `slot` does it)."""
        now = self._clock()
        portal_key = portal or "default"
        with self._lock:
            starts = self._starts.setdefault(user_id, deque())
            while starts and now - starts[0] >= WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= self.per_user:
                self.refused["user"] += 1
                metrics.lookup_refused("user")
                wait = max(1, int(WINDOW_SECONDS - (now - starts[0]) + 0.999))
                return Refusal(
                    f"You have started {len(starts)} lookups in the last minute, the most hsperm runs for one "
                    f"person. Try again in {wait} s (the reports you asked for are on their way)."
                )
            if self._running.get(portal_key, 0) >= self.per_portal:
                self.refused["portal"] += 1
                metrics.lookup_refused("portal")
                where = f"portal {portal}" if portal else "this HubSpot portal"
                return Refusal(
                    f"{self.per_portal} lookups are already running against {where}. "
                    "Try again in a minute, when HubSpot has answered them."
                )
            starts.append(now)
            self._running[portal_key] = self._running.get(portal_key, 0) + 1
        return None

    def release(self, portal: str | None) -> None:
        portal_key = portal or "default"
        with self._lock:
            left = self._running.get(portal_key, 0) - 1
            if left > 0:
                self._running[portal_key] = left
            else:
                self._running.pop(portal_key, None)

    @contextmanager
    def slot(self, portal: str | None) -> Iterator[None]:
        """Hold an admitted lookup's portal slot until the block ends."""
        try:
            yield
        finally:
            self.release(portal)

    def running(self, portal: str | None = None) -> int:
        with self._lock:
            return self._running.get(portal or "default", 0)

    def once(self, key: Hashable, run: Callable[[], T]) -> T:
        """`run()`, unless an identical call is in flight: then wait for its result (or its error)."""
        with self._lock:
            leader = self._inflight.get(key)
            if leader is None:
                mine: Future[Any] = Future()
                self._inflight[key] = mine
            else:
                self.coalesced += 1
                metrics.lookup_coalesced()
        if leader is not None:
            return leader.result()
        try:
            result = run()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(result)
            return result
        finally:
            with self._lock:
                self._inflight.pop(key, None)
