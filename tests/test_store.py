"""The store on SQLite and PostgreSQL: schema versions, atomic claims, history for App Home."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing

import psutil
import psycopg
import pytest

from bot.store import MIGRATIONS, SCHEMA_VERSION, PostgresStore, StoreError, diagnosis_from_dict, open_store
from tests.samples import TICKET


def _query(database_url: str, sql: str) -> list[tuple]:
    """Read the database directly, with a connection of our own (not the store's)."""
    if database_url.startswith("sqlite:///"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            return [tuple(row) for row in conn.execute(sql)]
    with psycopg.connect(database_url) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def test_migrate_creates_the_current_schema_and_is_idempotent(open_test_store, database_url):
    store = open_test_store()
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION  # a second instance starting finds nothing to do
    store.ping()
    assert _query(database_url, "SELECT COUNT(*) FROM schema_version") == [(len(MIGRATIONS),)]


def test_instances_starting_together_migrate_once(open_test_store, database_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            open_test_store()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    open_test_store()
    versions = _query(database_url, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [(v,) for v, _ in MIGRATIONS]


def test_an_event_id_is_claimed_once(open_test_store):
    store = open_test_store()
    assert store.claim_event("Ev0001") is True
    assert store.claim_event("Ev0001") is False
    assert store.claim_event("Ev0002") is True


def test_one_winner_when_instances_race_for_an_event(open_test_store):
    """Eight instances (own connections) get the same retried event at the same moment."""
    stores = [open_test_store() for _ in range(8)]
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(stores))

    def claim(store) -> None:
        barrier.wait()
        won = store.claim_event("EvRACE")
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_one_answer_per_error_per_thread(open_test_store):
    store = open_test_store()
    assert store.claim_answer("T1", "C1", "100.1", "fp-a") is True
    assert store.claim_answer("T1", "C1", "100.1", "fp-a") is False
    assert store.claim_answer("T1", "C1", "100.1", "fp-b") is True  # another error, same thread
    assert store.claim_answer("T1", "C1", "200.2", "fp-a") is True  # same error, another thread
    store.release_answer("T1", "C1", "100.1", "fp-a")
    assert store.claim_answer("T1", "C1", "100.1", "fp-a") is True


def test_old_event_ids_are_purged(open_test_store):
    """Claims purge ids older than a day on their own (at most every few minutes per instance)."""
    store = open_test_store()
    now = time.time()
    store.claim_event("EvOLD", now=now - 3 * 24 * 3600)
    store.claim_event("EvNEW", now=now - 60)
    assert store.purge(older_than=now - 24 * 3600) == 0  # the second claim already purged EvOLD
    assert store.claim_event("EvOLD") is True
    assert store.claim_event("EvNEW") is False


def test_history_round_trips_the_diagnosis_and_respects_privacy(open_test_store):
    store = open_test_store()
    public_id = store.record_diagnosis(
        team_id="T1", diagnosis=TICKET, source="message", user_id="U1", channel_id="C1", message_ts="1.1", public=True
    )
    private_id = store.record_diagnosis(team_id="T1", diagnosis=TICKET, source="command", user_id="U1", channel_id="C1")
    store.record_diagnosis(team_id="T2", diagnosis=TICKET, source="message", user_id="U9", public=True)

    record = store.get_diagnosis(public_id, "T1")
    assert record is not None
    assert record.diagnosis == TICKET
    assert (record.source, record.channel_id, record.message_ts, record.public) == ("message", "C1", "1.1", True)
    assert store.get_diagnosis(public_id, "T2") is None  # ids never cross workspaces
    assert store.get_diagnosis("nope", "T1") is None

    assert [r.id for r in store.recent_diagnoses("T1", "U1")] == [private_id, public_id]
    assert [r.id for r in store.recent_diagnoses("T1", "U2")] == [public_id]  # someone else's /hsperm stays private
    assert len(store.recent_diagnoses("T1", "U1", limit=1)) == 1


def test_sql_is_parameterised(open_test_store):
    store = open_test_store()
    hostile = "x'); DROP TABLE diagnoses; --"
    assert store.claim_event(hostile) is True
    assert store.claim_event(hostile) is False
    store.record_diagnosis(team_id=hostile, diagnosis=TICKET, source="message", user_id=hostile, public=True)
    assert len(store.recent_diagnoses(hostile, hostile)) == 1


def test_diagnosis_from_dict_is_the_inverse_of_to_dict():
    assert diagnosis_from_dict(TICKET.to_dict()) == TICKET


def test_unknown_database_url_is_refused():
    with pytest.raises(StoreError, match="DATABASE_URL"):
        open_store("mysql://root@localhost/db")


def test_unreachable_postgres_fails_clearly_without_the_password():
    with pytest.raises(StoreError) as info:
        open_store("postgresql://hsperm:s3cret-pass@127.0.0.1:1/hsperm")
    assert "s3cret-pass" not in str(info.value)
    assert "127.0.0.1" in str(info.value)


def test_ping_reports_a_dead_database():
    store = PostgresStore("postgresql://hsperm:s3cret-pass@127.0.0.1:1/hsperm", timeout=0.1)  # refused at once
    with pytest.raises(StoreError) as info:
        store.ping()
    assert "s3cret-pass" not in str(info.value)


def test_sqlite_memory_database_is_shared_between_threads():
    store = open_store("sqlite:///:memory:")
    try:
        assert store.claim_event("EvMEM") is True
        seen: list[bool] = []
        worker = threading.Thread(target=lambda: seen.append(store.claim_event("EvMEM")))
        worker.start()
        worker.join()
        assert seen == [False]
    finally:
        store.close()


def _open_connections(database_url: str) -> int:
    """Connections this process holds to the database, as the OS sees them: files or sockets."""
    process = psutil.Process()
    if database_url.startswith("sqlite:///"):
        path = os.path.realpath(database_url.removeprefix("sqlite:///"))
        return sum(1 for f in process.open_files() if os.path.realpath(f.path) == path)
    return sum(1 for c in process.net_connections(kind="tcp") if c.raddr and c.raddr.port == 5432)


def test_connections_of_finished_threads_are_closed(open_test_store, database_url):
    """Thread-per-request servers must not leave one open connection per request behind."""
    before = _open_connections(database_url)
    store = open_test_store()
    for n in range(20):
        worker = threading.Thread(target=store.claim_event, args=(f"EvThread{n}",))
        worker.start()
        worker.join()
    store.claim_event("EvMain")
    # One per finished thread would be 20 or more. A few remain: this thread's, the last worker's
    # until the next new connection, and on SQLite a descriptor it holds while others lock the file.
    assert _open_connections(database_url) - before <= 4
