"""Slow work runs here, on threads of its own, never on the threads that acknowledge Slack.

Slack wants every request acknowledged within 3 seconds. Bolt acknowledges on its listener
threads; if those threads also run HubSpot lookups (several calls, perhaps a 429 to wait out) and
Slack Web API replies, a burst of slow work leaves no thread to ack the next request, and
Slack shows the user an error. So listeners do only what the ack needs (parse, validate, the ack
itself) and submit the rest here: acks wait on nothing but a free listener thread, and slow work
waits in a bounded queue whose depth can be measured and limited.

Why this and not the alternatives a team might pick:
- Bolt's lazy listeners run on the same listener executor as acks (they solve FaaS time limits,
  not thread starvation), so they would not separate the two.
- A durable job queue (e.g. on PostgreSQL) survives a crash between ack and reply, but costs a
  schema, a poller and at-least-once semantics in every reply; hsperm's replies are claimed in the
  store (one answer per thread), and Slack retries what was never acked. It can be added behind
  the same `submit` later if losing in-flight replies on a crash becomes the bigger risk.

The queue is bounded: when it is full, `submit` refuses instead of growing memory without limit,
and the caller tells the user to try again (see `Busy`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

#: Threads for slow work. Each mostly waits on HubSpot or Slack; 8 keeps a burst of lookups from
#: opening more HubSpot connections than its rate limit would welcome.
DEFAULT_WORKERS = 8
#: Jobs that may wait for a thread. Beyond this the app is overloaded: refuse rather than queue
#: replies that would arrive minutes late.
DEFAULT_BACKLOG = 256


class Busy(Exception):
    """The work queue is full; the request was acknowledged but its work was not accepted."""


#: Extra room for work already admitted when the queue was checked (events: see `submit_admitted`).
DEFAULT_HEADROOM = 64


class WorkQueue:
    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        backlog: int = DEFAULT_BACKLOG,
        name: str = "hsperm-work",
        headroom: int = DEFAULT_HEADROOM,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._capacity = workers + backlog
        self._headroom = headroom
        self._pending = 0
        self._idle = threading.Condition()

    @property
    def depth(self) -> int:
        """Jobs submitted and not yet finished (running or waiting)."""
        return self._pending

    @property
    def full(self) -> bool:
        """No room for another job: callers that can still say "retry later" (events) should."""
        return self._pending >= self._capacity

    def submit(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `job(*args, **kwargs)` on a work thread; raise `Busy` when the queue is full.

        A job's exception is logged, never raised: by then the request was acknowledged, and the
        job itself is responsible for telling the user (handlers answer "hsperm hit a problem").
        """
        self._enqueue(job, args, kwargs, self._capacity)

    def submit_admitted(self, job: Callable[..., Any], *args: Any) -> None:
        """Like `submit`, for work whose request was admitted by checking `full` before its 200.

        Slack events are acknowledged before their listener runs, so a refusal here would drop a
        paste Slack will never resend. The check and the submit are not atomic: between them, at most
        one request per listener thread can slip in, which the headroom absorbs (still bounded).
        """
        self._enqueue(job, args, {}, self._capacity + self._headroom)

    def _enqueue(self, job: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], limit: int) -> None:
        with self._idle:
            if self._pending >= limit:
                raise Busy(f"{self._pending} jobs waiting")
            self._pending += 1
        try:
            self._pool.submit(self._run, job, args, kwargs)
        except RuntimeError:  # shut down
            self._done()
            raise Busy("shutting down") from None

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted job has finished; True if it did within `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, job: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            job(*args, **kwargs)
        except Exception:
            log.exception("background job %s failed", getattr(job, "__name__", "job"))
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
