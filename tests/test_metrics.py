"""Counters that are bumped below the HTTP layer (the store, the services), read from the
process's Prometheus registry; `/metrics` itself is tested in tests/e2e/test_metrics_http.py."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import REGISTRY

from bot.metrics import metrics


def _count(name: str, **labels: str) -> float:
    metrics()  # registered on first use
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_approvals_are_counted_once_per_state_actually_entered(open_test_store):
    store = open_test_store()
    before = {state: _count("hsperm_approvals_total", state=state) for state in ("pending", "approved", "denied")}
    request = store.create_fix_request(
        team_id="T0HSPERM", kind="team", requester_id="U0ALICE", subject_email="ann@example.com",
        proposal={"team": "West"}, ttl_seconds=3600,
    )
    assert store.transition_fix(request.id, ("pending",), "approved", decided_by="U0BOB") is True
    assert store.transition_fix(request.id, ("pending",), "approved", decided_by="U0CAROL") is False  # second click
    assert store.transition_fix(request.id, ("pending",), "denied", decided_by="U0CAROL") is False
    after = {state: _count("hsperm_approvals_total", state=state) for state in before}
    assert {state: after[state] - before[state] for state in before} == {"pending": 1, "approved": 1, "denied": 0}


def test_lookups_refused_by_a_limit_and_lookups_joining_a_running_one_are_counted():
    from bot.limits import LookupLimits

    limits = LookupLimits(per_user_per_minute=1, per_portal=1)
    before = {what: _count("hsperm_lookups_refused_total", limit=what) for what in ("user", "portal")}
    coalesced = _count("hsperm_lookups_coalesced_total")
    assert limits.admit("U0ANN", "111") is None
    assert limits.admit("U0ANN", "222") is not None  # her second lookup this minute
    assert limits.admit("U0BOB", "111") is not None  # portal 111 has its one lookup running
    after = {what: _count("hsperm_lookups_refused_total", limit=what) for what in before}
    assert {what: after[what] - before[what] for what in before} == {"user": 1, "portal": 1}

    started, release = threading.Event(), threading.Event()

    def slow_lookup() -> str:
        started.set()
        release.wait(10)
        return "report"

    leader = threading.Thread(target=lambda: limits.once("same", slow_lookup))
    leader.start()
    assert started.wait(10)
    joined: list[str] = []
    follower = threading.Thread(target=lambda: joined.append(limits.once("same", lambda: "a second run")))
    follower.start()
    deadline = time.monotonic() + 10
    while _count("hsperm_lookups_coalesced_total") == coalesced and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    leader.join(10)
    follower.join(10)
    assert joined == ["report"]  # the follower got the leader's report, not a run of its own
    assert _count("hsperm_lookups_coalesced_total") - coalesced == 1


def test_work_refused_because_the_queue_is_full_is_counted():
    from bot.work import Busy, WorkQueue

    queue = WorkQueue(workers=1, backlog=0)
    release = threading.Event()
    before = _count("hsperm_work_queue_full_total", refused="job")
    try:
        queue.submit(release.wait)
        with pytest.raises(Busy):
            queue.submit(release.wait)
    finally:
        release.set()
        assert queue.drain(timeout=10)
        queue.close()
    assert _count("hsperm_work_queue_full_total", refused="job") - before == 1


def test_the_store_reports_while_it_fails_fast_and_counts_unavailable_calls(postgres_url):
    import psycopg_pool

    from bot.store import StoreUnavailable, open_store

    class DeadPool:
        def getconn(self, timeout: float):
            raise psycopg_pool.PoolTimeout("no connection")

    store = open_store(postgres_url)
    unavailable = _count("hsperm_store_unavailable_total")
    real_pool, store._pool = store._pool, DeadPool()
    try:
        with pytest.raises(StoreUnavailable):
            store.claim_event("EvDOWN")
        assert _count("hsperm_store_failing_fast") == 1
        assert _count("hsperm_store_unavailable_total") - unavailable == 1
    finally:
        store._pool = real_pool
    assert store.claim_event("EvUP") is True  # the probe succeeds: no longer failing
    assert _count("hsperm_store_failing_fast") == 0
    store.close()
