"""Diagnosis history: what App Home lists and the "Share" button re-posts.

The diagnosis is stored as its JSON contract (secret kinds only, never the paste itself), so this
module also owns the way back from that JSON to a `Diagnosis`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.redact import redact_tree
from bot.store.base import StoreBase
from knowledge import ChecklistItem, Diagnosis


@dataclass(frozen=True)
class DiagnosisRecord:
    id: str
    team_id: str
    user_id: str | None
    channel_id: str | None
    message_ts: str | None
    thread_ts: str | None
    source: str
    kind: str
    diagnosis: Diagnosis
    public: bool
    created_at: float


def diagnosis_from_dict(data: dict[str, Any]) -> Diagnosis:
    """Rebuild a Diagnosis from its JSON contract (the inverse of `Diagnosis.to_dict`)."""
    return Diagnosis(
        kind=data["kind"],
        summary=data.get("summary") or "",
        alternatives=tuple(data.get("alternatives") or ()),
        object_type=data.get("object_type"),
        portal_id=data.get("portal_id"),
        requires=tuple(data.get("requires") or ()),
        requires_mode=data.get("requires_mode") or "any",
        status=data.get("status"),
        category=data.get("category"),
        correlation_id=data.get("correlation_id"),
        hublet=data.get("hublet"),
        secrets=tuple(data.get("secrets") or ()),
        checklist=tuple(ChecklistItem(i["title"], i["detail"]) for i in data.get("checklist") or ()),
    )


def _record(row: Sequence[Any]) -> DiagnosisRecord:
    return DiagnosisRecord(
        id=row[0],
        team_id=row[1],
        user_id=row[2],
        channel_id=row[3],
        message_ts=row[4],
        thread_ts=row[5],
        source=row[6],
        kind=row[7],
        diagnosis=diagnosis_from_dict(json.loads(row[8])),
        public=bool(row[9]),
        created_at=float(row[10]),
    )


class HistoryMixin(StoreBase):
    """Diagnoses shown to someone, listed newest first."""

    def record_diagnosis(
        self,
        *,
        team_id: str,
        diagnosis: Diagnosis,
        source: str,
        user_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        public: bool = False,
    ) -> str:
        """Store one diagnosis shown to someone; returns its id (a Share button's value)."""
        record_id = os.urandom(12).hex()
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO diagnoses (id, team_id, user_id, channel_id, message_ts, thread_ts, "
                    "source, kind, diagnosis_json, public, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    record_id,
                    team_id,
                    user_id,
                    channel_id,
                    message_ts,
                    thread_ts,
                    source,
                    diagnosis.kind,
                    json.dumps(redact_tree(diagnosis.to_dict()), ensure_ascii=False),
                    1 if public else 0,
                    time.time(),
                ),
            )
        return record_id

    def get_diagnosis(self, record_id: str, team_id: str) -> DiagnosisRecord | None:
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "SELECT id, team_id, user_id, channel_id, message_ts, thread_ts, source, kind, "
                    "diagnosis_json, public, created_at FROM diagnoses WHERE id = ? AND team_id = ?"
                ),
                (record_id, team_id),
            )
            row = cur.fetchone()
        return _record(row) if row else None

    def recent_diagnoses(self, team_id: str, viewer_id: str, limit: int = 10) -> list[DiagnosisRecord]:
        """Newest first: public answers in the workspace plus the viewer's own private ones (App Home)."""
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "SELECT id, team_id, user_id, channel_id, message_ts, thread_ts, source, kind, "
                    "diagnosis_json, public, created_at FROM diagnoses "
                    "WHERE team_id = ? AND (public = 1 OR user_id = ?) "
                    "ORDER BY created_at DESC, id DESC LIMIT ?"
                ),
                (team_id, viewer_id, int(limit)),
            )
            rows = cur.fetchall()
        return [_record(row) for row in rows]
