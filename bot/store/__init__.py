"""Persistence shared by every hsperm instance: SQLite for one process, PostgreSQL for several.

Slack retries events and load balancers spread them over instances, so the facts that stop hsperm
from answering twice (seen event ids, answered errors per thread) must live here, written with one
atomic statement each, never as read-then-write. The schema is versioned: later changes append a
migration to `MIGRATIONS` (bot.store.migrations) instead of editing the tables, and every instance
migrates at start.

One concern per module: `base` (errors, per-thread connections, migrating), `migrations` (the
append-only list), one mixin per table family (`claims`, `history`, `fixes`, `audit_log`) and
`backends` (SQLite, PostgreSQL, `open_store`, and `Store`, which composes the mixins). This module
only re-exports the names the rest of hsperm imports.
"""

from __future__ import annotations

from bot.store.audit_log import AuditEntry
from bot.store.backends import PostgresStore, SQLiteStore, Store, open_store
from bot.store.base import StoreError, StoreUnavailable
from bot.store.claims import EVENT_RETENTION_SECONDS, PURGE_INTERVAL_SECONDS, REPLAY_WINDOW_SECONDS
from bot.store.fixes import FixRequest
from bot.store.history import DiagnosisRecord, diagnosis_from_dict
from bot.store.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "EVENT_RETENTION_SECONDS",
    "MIGRATIONS",
    "PURGE_INTERVAL_SECONDS",
    "REPLAY_WINDOW_SECONDS",
    "SCHEMA_VERSION",
    "AuditEntry",
    "DiagnosisRecord",
    "FixRequest",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "diagnosis_from_dict",
    "open_store",
]
