"""Counters that are bumped below the HTTP layer (the store, the services), read from the
process's Prometheus registry; `/metrics` itself is tested in tests/e2e/test_metrics_http.py."""

from __future__ import annotations

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
