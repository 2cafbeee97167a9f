"""Processed events, answer claims and seen requests: what stops hsperm from answering twice.

Slack retries events and load balancers spread them over instances, so each of these facts is
written with one atomic statement, never as read-then-write.
"""

from __future__ import annotations

import logging
import time

from bot.store.base import StoreBase

log = logging.getLogger(__name__)

#: Slack retries an event for about 6 minutes; a day of event ids is plenty and stays small.
EVENT_RETENTION_SECONDS = 24 * 3600
#: Signed requests older than this are refused by signature checking, so replays of older ones
#: need no record (Slack's window is 5 minutes; one more for clock skew).
REPLAY_WINDOW_SECONDS = 6 * 60
#: How often one instance bothers to purge old event ids.
PURGE_INTERVAL_SECONDS = 600


class ClaimsMixin(StoreBase):
    """Event dedupe, replay protection and the one-answer-per-error claim."""

    def claim_event(self, event_id: str, now: float | None = None) -> bool:
        """True for the first delivery of `event_id` across all instances, False for repeats."""
        return self._first_time(
            "INSERT INTO processed_events (event_id, received_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
            event_id,
            now,
        )

    def claim_request(self, digest: str, now: float | None = None) -> bool:
        """True the first time a signed request (by its signature's digest) is seen, False after."""
        return self._first_time(
            "INSERT INTO seen_requests (digest, received_at) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING", digest, now
        )

    def _first_time(self, insert: str, key: str, now: float | None) -> bool:
        now = time.time() if now is None else now
        with self._cursor() as cur:
            cur.execute(self._sql(insert), (key, now))
            won = cur.rowcount == 1
        self._maybe_purge(now)
        return won

    def claim_answer(self, team_id: str, channel_id: str, thread_ts: str, fingerprint: str) -> bool:
        """True if nobody has answered this error in this thread yet; claims it in the same statement."""
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO answered_errors (team_id, channel_id, thread_ts, fingerprint, answered_at) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (team_id, channel_id, thread_ts, fingerprint) DO NOTHING"
                ),
                (team_id, channel_id, thread_ts, fingerprint, time.time()),
            )
            return cur.rowcount == 1

    def release_answer(self, team_id: str, channel_id: str, thread_ts: str, fingerprint: str) -> None:
        """Undo a claim whose reply could not be posted, so a later paste can still be answered."""
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "DELETE FROM answered_errors WHERE team_id = ? AND channel_id = ? AND thread_ts = ? AND fingerprint = ?"
                ),
                (team_id, channel_id, thread_ts, fingerprint),
            )

    def purge(self, older_than: float) -> int:
        with self._cursor() as cur:
            cur.execute(self._sql("DELETE FROM processed_events WHERE received_at < ?"), (older_than,))
            purged = cur.rowcount
            # Slack refuses requests older than 5 minutes itself; digests only need that long.
            cur.execute(
                self._sql("DELETE FROM seen_requests WHERE received_at < ?"),
                (max(older_than, time.time() - REPLAY_WINDOW_SECONDS),),
            )
            return purged

    def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < PURGE_INTERVAL_SECONDS or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            self.purge(now - EVENT_RETENTION_SECONDS)
        except Exception:
            log.warning("purging old event ids failed; will retry later", exc_info=True)
        finally:
            self._purge_lock.release()
