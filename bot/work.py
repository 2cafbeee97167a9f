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
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import bot.metrics as metrics

log = logging.getLogger(__name__)

#: Threads for slow work. Each mostly waits on HubSpot or Slack; 8 keeps a burst of lookups from
#: opening more HubSpot connections than its rate limit would welcome.
DEFAULT_WORKERS = 8
#: Jobs that may wait for a thread. Beyond this the app is overloaded: refuse rather than queue
#: replies that would arrive minutes late.
DEFAULT_BACKLOG = 256


#: Threads that run Bolt's listeners. They parse, ack and hand slow work to the work queue, so
#: each is busy for milliseconds; 16 absorbs a burst without starting hundreds of threads.
LISTENER_THREADS = 16


class Busy(Exception):
    """The work queue is full; the request was acknowledged but its work was not accepted."""


#: Extra room for work already admitted when the queue was checked (events: see `submit_admitted`).
DEFAULT_HEADROOM = 64


class TrackedPool(ThreadPoolExecutor):
    """A thread pool that knows how many tasks are unfinished, so shutdown (and tests) can wait
    for quiet instead of sleeping and hoping."""

    def __init__(self, workers: int, name: str) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=name)
        self._pending = 0
        self._idle = threading.Condition()

    @property
    def depth(self) -> int:
        """Tasks submitted and not yet finished (running or waiting)."""
        return self._pending

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted task has finished; True if it did within `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()


class WorkQueue(TrackedPool):
    """The bounded pool for slow work; a job's failure is logged, never lost silently."""

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        backlog: int = DEFAULT_BACKLOG,
        name: str = "hsperm-work",
        headroom: int = DEFAULT_HEADROOM,
    ) -> None:
        super().__init__(workers, name)
        self._capacity = workers + backlog
        self._headroom = headroom
        self._admit = threading.Lock()

    @property
    def full(self) -> bool:
        """No room for another job: callers that can still say "retry later" (events) should."""
        return self.depth >= self._capacity

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn(*args, **kwargs)` on a work thread; raise `Busy` when the queue is full.

        A job's exception is logged, never raised: by then the request was acknowledged, and the
        job itself is responsible for telling the user (handlers answer "hsperm hit a problem").
        """
        return self._enqueue(self._capacity, fn, args, kwargs)

    def submit_admitted(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Like `submit`, for work whose request was admitted by checking `full` before its 200.

        Slack events are acknowledged before their listener runs, so a refusal here would drop a
        paste Slack will never resend. The check and the submit are not atomic: between them, at most
        one request per listener thread can slip in, which the headroom absorbs (still bounded).
        """
        return self._enqueue(self._capacity + self._headroom, fn, args, {})

    def _enqueue(self, limit: int, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        with self._admit:
            if self.depth >= limit:
                metrics.work_refused("job")
                raise Busy(f"{self.depth} jobs waiting")
            metrics.job_queued()
            try:
                future = super().submit(_logged, fn, *args, **kwargs)
            except RuntimeError:  # shut down
                metrics.job_finished()
                raise Busy("shutting down") from None
            future.add_done_callback(lambda _: metrics.job_finished())
            return future

    def close(self, wait: bool = True) -> None:
        self.shutdown(wait=wait, cancel_futures=not wait)


def _logged(job: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        job(*args, **kwargs)
    except Exception:
        log.exception("background job %s failed", getattr(job, "__name__", "job"))
