"""Fix requests and the audit log in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

import bot.store.migrations as store_migrations
from bot.approvals import TRANSITIONS
from bot.store import SCHEMA_VERSION, open_store
from tests.samples import TICKET

PROPOSAL = {"kind": "secondary_team", "after": {"secondary_teams": "West"}, "params": {"team_id": "178588"}}


def _new(store, **kw):
    args = {
        "team_id": "T1",
        "kind": "secondary_team",
        "requester_id": "U0ALICE",
        "subject_email": "ann@example.com",
        "proposal": PROPOSAL,
        "ttl_seconds": 3600,
        "portal_id": "342871372",
        "ticket_id": "123",
    }
    args.update(kw)
    return store.create_fix_request(**args)


def test_a_request_round_trips(open_test_store):
    store = open_test_store()
    record = _new(store)
    assert record.state == "pending"
    assert record.proposal == PROPOSAL
    assert record.expires_at == pytest.approx(record.created_at + 3600)
    assert store.get_fix_request(record.id, "T1") == record
    assert store.get_fix_request(record.id, "T2") is None  # ids never cross workspaces
    store.attach_fix_message(record.id, "C0APPROVE", "1.2")
    again = store.get_fix_request(record.id)
    assert (again.channel_id, again.message_ts) == ("C0APPROVE", "1.2")


def test_transitions_are_conditional(open_test_store):
    store = open_test_store()
    record = _new(store)
    assert store.transition_fix(record.id, TRANSITIONS["approved"], "approved", decided_by="U0BOB") is True
    assert store.transition_fix(record.id, ("pending",), "approved", decided_by="U0EVE") is False  # second click
    assert store.transition_fix(record.id, ("pending",), "denied", decided_by="U0EVE") is False
    assert store.get_fix_request(record.id).decided_by == "U0BOB"
    intent = {"method": "PUT", "path": "/settings/v3/users/1", "body": {"secondaryTeamIds": ["178588"]}}
    assert store.transition_fix(
        record.id, ("approved",), "applying", count_attempt=True, intent_json=intent, intent_at=time.time()
    )
    applying = store.get_fix_request(record.id)
    assert (applying.state, applying.intent, applying.attempts) == ("applying", intent, 1)
    assert store.transition_fix(record.id, ("applying",), "failed", result_json={"error": "boom"})
    assert store.transition_fix(record.id, ("failed",), "approved", decided_by="U0BOB")  # retry
    assert store.get_fix_request(record.id).result == {"error": "boom"}
    with pytest.raises(ValueError):
        store.transition_fix(record.id, ("approved",), "applying", state="applied")  # not a settable column


def test_expiry_and_approval_cannot_both_win(open_test_store):
    store = open_test_store()
    now = time.time()
    record = _new(store, ttl_seconds=10, now=now - 20)
    assert store.transition_fix(record.id, ("pending",), "approved", now=now, unexpired=True) is False
    assert store.transition_fix(record.id, ("pending",), "expired", now=now, expired=True) is True
    fresh = _new(store, ttl_seconds=3600)
    assert store.transition_fix(fresh.id, ("pending",), "expired", now=now, expired=True) is False
    assert store.get_fix_request(fresh.id).state == "pending"


def test_twenty_instances_clicking_at_once_have_one_winner(open_test_store):
    record = _new(open_test_store())
    stores = [open_test_store() for _ in range(4)]
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def click(n: int) -> None:
        barrier.wait()
        won = stores[n % 4].transition_fix(record.id, ("pending",), "approved", unexpired=True, decided_by=f"U{n:04d}")
        with lock:
            results.append(won)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 19 + [True]


def test_lists_and_stale_requests(open_test_store):
    store = open_test_store()
    a, b, c = _new(store), _new(store), _new(store, team_id="T2")
    store.transition_fix(b.id, ("pending",), "approved")
    store.transition_fix(b.id, ("approved",), "applying", intent_json={}, intent_at=time.time() - 600)
    store.transition_fix(c.id, ("pending",), "approved", decided_at=time.time() - 300)
    assert [r.id for r in store.fix_requests(team_id="T1", states=("pending",))] == [a.id]
    assert {r.id for r in store.fix_requests(team_id="T1")} == {a.id, b.id}
    assert [r.id for r in store.fix_requests(team_id="T2")] == [c.id]
    assert {r.id for r in store.stale_fix_requests(time.time() - 60)} == {b.id, c.id}
    assert [r.id for r in store.stale_fix_requests(time.time() - 400)] == [b.id]
    assert store.stale_fix_requests(time.time() - 3600) == []


def test_audit_is_append_only_and_exports_in_order(open_test_store):
    store = open_test_store()
    now = time.time()
    store.audit(team_id="T1", actor_id="U0EVE", action="approve", result="refused", request_id="r1",
                detail="not an approver", now=now - 30)  # fmt: skip
    store.audit(team_id="T1", actor_id="U0BOB", action="apply", result="ok", request_id="r1",
                before={"secondaryTeamIds": []}, after={"secondaryTeamIds": ["178588"]}, now=now)  # fmt: skip
    store.audit(team_id="T2", action="expire", result="ok", now=now - 10)
    entries = store.audit_entries(team_id="T1")
    assert [(e.action, e.result) for e in entries] == [("approve", "refused"), ("apply", "ok")]
    assert entries[1].before == {"secondaryTeamIds": []} and entries[1].after == {"secondaryTeamIds": ["178588"]}
    assert [e.action for e in store.audit_entries(since=now - 15)] == ["expire", "apply"]
    assert [e.action for e in store.audit_entries(limit=1)] == ["apply"]
    assert entries[0].to_dict()["at"].endswith("+00:00")
    assert not any(hasattr(store, name) for name in ("update_audit", "delete_audit"))


def test_a_database_of_the_previous_release_upgrades_and_keeps_its_data(database_url, monkeypatch):
    """Open a database written by the release before fix requests (schema 1), then upgrade it."""
    with monkeypatch.context() as patch:
        patch.setattr(store_migrations, "MIGRATIONS", store_migrations.MIGRATIONS[:1])
        old = open_store(database_url)
        assert old.schema_version() == 1
        kept = old.record_diagnosis(team_id="T1", diagnosis=TICKET, source="message", user_id="U1", public=True)
        assert old.claim_event("EvOLD") is True
        old.close()
    new = open_store(database_url)
    try:
        assert new.schema_version() == SCHEMA_VERSION >= 2
        assert new.get_diagnosis(kept, "T1").diagnosis == TICKET
        assert new.claim_event("EvOLD") is False
        record = _new(new)
        assert new.get_fix_request(record.id).state == "pending"
        new.audit(team_id="T1", action="request", result="ok", request_id=record.id)
        assert len(new.audit_entries()) == 1
    finally:
        new.close()
