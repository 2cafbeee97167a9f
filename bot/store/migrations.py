"""The schema's history: every migration hsperm has shipped, in order, shared by both backends.

Kept apart from the code that runs it so that appending a migration touches one short file. Append,
never edit or reorder: a deployed database has already run the old ones.
"""

from __future__ import annotations

# Each migration is a list of statements run in one transaction. Append, never edit: a deployed
# database has already run the old ones. Types are the common subset of SQLite and PostgreSQL.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE processed_events (
                event_id TEXT PRIMARY KEY,
                received_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX processed_events_received_at ON processed_events (received_at)",
            # One row per (thread, error): the claim that makes "never answer twice" atomic.
            """CREATE TABLE answered_errors (
                team_id TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                thread_ts TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                answered_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (team_id, channel_id, thread_ts, fingerprint)
            )""",
            # History for App Home and the "Share" button. The diagnosis is stored as its JSON
            # contract (secret kinds only, never the paste itself). `public` rows (answers in public
            # channels) are listed to everyone in the workspace; the rest only to their user.
            """CREATE TABLE diagnoses (
                id TEXT PRIMARY KEY,
                team_id TEXT NOT NULL,
                user_id TEXT,
                channel_id TEXT,
                message_ts TEXT,
                thread_ts TEXT,
                source TEXT NOT NULL,
                kind TEXT NOT NULL,
                diagnosis_json TEXT NOT NULL,
                public INTEGER NOT NULL DEFAULT 0,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX diagnoses_team_created ON diagnoses (team_id, created_at)",
        ),
    ),
    (
        2,
        (
            # One row per fix request. `state` only moves through conditional updates
            # (`... WHERE id = ? AND state = ?`), so two clicks on two instances cannot both win.
            # `intent_json` is written in the same statement that enters `applying`, before the
            # HubSpot write: after a crash it says exactly what may have been sent.
            """CREATE TABLE fix_requests (
                id TEXT PRIMARY KEY,
                team_id TEXT NOT NULL,
                state TEXT NOT NULL,
                kind TEXT NOT NULL,
                portal_id TEXT,
                requester_id TEXT NOT NULL,
                subject_email TEXT NOT NULL,
                ticket_id TEXT,
                proposal_json TEXT NOT NULL,
                channel_id TEXT,
                message_ts TEXT,
                decided_by TEXT,
                decided_at DOUBLE PRECISION,
                intent_json TEXT,
                intent_at DOUBLE PRECISION,
                attempts INTEGER NOT NULL DEFAULT 0,
                result_json TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX fix_requests_team_state ON fix_requests (team_id, state, created_at)",
            "CREATE INDEX fix_requests_state ON fix_requests (state, intent_at)",
            # Append-only: the store has no statement that updates or deletes these rows.
            """CREATE TABLE audit_log (
                id TEXT PRIMARY KEY,
                at DOUBLE PRECISION NOT NULL,
                team_id TEXT NOT NULL,
                actor_id TEXT,
                action TEXT NOT NULL,
                result TEXT NOT NULL,
                request_id TEXT,
                subject TEXT,
                before_json TEXT,
                after_json TEXT,
                detail TEXT
            )""",
            "CREATE INDEX audit_log_at ON audit_log (at)",
            "CREATE INDEX audit_log_team_at ON audit_log (team_id, at)",
        ),
    ),
    (
        # `migrate` applies every missing number, so this one and 2 could be deployed in either order.
        3,
        (
            # Digests of the signatures of signed commands, clicks and form posts seen in the last
            # minutes: a replayed request is refused by the same atomic insert as events.
            """CREATE TABLE seen_requests (
                digest TEXT PRIMARY KEY,
                received_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX seen_requests_received_at ON seen_requests (received_at)",
        ),
    ),
)

SCHEMA_VERSION = max(version for version, _ in MIGRATIONS)
