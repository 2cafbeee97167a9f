"""The work queue that keeps slow work off the ack threads: bounded, drained, failures contained."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.work import Busy, WorkQueue


def test_a_full_queue_refuses_instead_of_growing():
    queue = WorkQueue(workers=1, backlog=1)
    release = threading.Event()
    try:
        queue.submit(release.wait)
        queue.submit(release.wait)
        with pytest.raises(Busy):
            queue.submit(release.wait)
        assert queue.depth == 2
    finally:
        release.set()
        assert queue.drain(timeout=10)
        queue.close()
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
    queue = WorkQueue(workers=1, backlog=0)
    release = threading.Event()
    try:
        assert not queue.full
        queue.submit(release.wait)
        assert queue.full
    finally:
        release.set()
        assert queue.drain(timeout=10)
        queue.close()
    assert not queue.full


def test_admitted_work_uses_the_headroom_and_is_still_bounded():
    queue = WorkQueue(workers=1, backlog=0, headroom=2)
    release = threading.Event()
    try:
        queue.submit(release.wait)
        with pytest.raises(Busy):
            queue.submit(release.wait)
        queue.submit_admitted(release.wait)  # an event let in before the queue filled
        queue.submit_admitted(release.wait)
        with pytest.raises(Busy):
            queue.submit_admitted(release.wait)
        assert queue.depth == 3
    finally:
        release.set()
        assert queue.drain(timeout=10)
        queue.close()
