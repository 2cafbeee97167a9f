"""The work queue that keeps slow work off the ack threads: bounded, drained, failures contained."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.work import Busy, WorkQueue


@contextmanager
def stalled(**sizes: int) -> Iterator[tuple[WorkQueue, threading.Event]]:
    """A queue whose jobs (`release.wait`) all wait until the block ends; then it drains and closes."""
    queue = WorkQueue(**sizes)
    release = threading.Event()
    try:
        yield queue, release
    finally:
        release.set()
        assert queue.drain(timeout=10)
        queue.close()


def test_a_full_queue_refuses_instead_of_growing():
    with stalled(workers=1, backlog=1) as (queue, release):
        queue.submit(release.wait)
        queue.submit(release.wait)
        with pytest.raises(Busy):
            queue.submit(release.wait)
        assert queue.depth == 2
    assert queue.depth == 0


def test_drain_waits_for_every_job_and_a_failing_job_is_logged_not_raised(caplog):
    queue = WorkQueue(workers=2, backlog=10)
    done: list[int] = []

    def boom() -> None:
        raise RuntimeError("kaput")

    queue.submit(boom)
    for n in range(5):
        queue.submit(done.append, n)
    assert queue.drain(timeout=10)
    queue.close()
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert any("boom" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_after_close_submit_says_busy():
    queue = WorkQueue(workers=1, backlog=1)
    queue.close()
    with pytest.raises(Busy):
        queue.submit(print)
    assert queue.depth == 0


def test_full_says_when_the_next_submit_would_be_refused():
    with stalled(workers=1, backlog=0) as (queue, release):
        assert not queue.full
        queue.submit(release.wait)
        assert queue.full
    assert not queue.full


def test_admitted_work_uses_the_headroom_and_is_still_bounded():
    with stalled(workers=1, backlog=0, headroom=2) as (queue, release):
        queue.submit(release.wait)
        with pytest.raises(Busy):
            queue.submit(release.wait)
        queue.submit_admitted(release.wait)  # an event let in before the queue filled
        queue.submit_admitted(release.wait)
        with pytest.raises(Busy):
            queue.submit_admitted(release.wait)
        assert queue.depth == 3
