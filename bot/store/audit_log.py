"""The audit log: append-only rows for every fix decision, refusals included.

Its own module so that the absence of any update or delete statement is easy to check.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.store.base import StoreBase, _loads


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    team_id: str
    actor_id: str | None
    action: str
    result: str
    request_id: str | None
    subject: str | None
    before: Any
    after: Any
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        data = asdict(self)
        data["at"] = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")
        return data


def _audit_entry(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        at=float(row[1]),
        team_id=row[2],
        actor_id=row[3],
        action=row[4],
        result=row[5],
        request_id=row[6],
        subject=row[7],
        before=_loads(row[8]),
        after=_loads(row[9]),
        detail=row[10],
    )


class AuditMixin(StoreBase):
    """Append and read audit rows."""

    def audit(
        self,
        *,
        team_id: str,
        action: str,
        result: str,
        actor_id: str | None = None,
        request_id: str | None = None,
        subject: str | None = None,
        before: Any = None,
        after: Any = None,
        detail: str | None = None,
        now: float | None = None,
    ) -> str:
        """Append one audit row (refusals too). There is deliberately no way to edit or delete one."""
        entry_id = os.urandom(9).hex()
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO audit_log (id, at, team_id, actor_id, action, result, request_id, subject, "
                    "before_json, after_json, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    entry_id,
                    time.time() if now is None else now,
                    team_id,
                    actor_id,
                    action,
                    result,
                    request_id,
                    subject,
                    None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
                    None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True),
                    detail,
                ),
            )
        return entry_id

    def audit_entries(
        self, *, team_id: str | None = None, since: float | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Oldest first (an export reads like a log); with `limit`, the newest `limit` entries."""
        query = "SELECT id, at, team_id, actor_id, action, result, request_id, subject, before_json, after_json, detail "
        query += "FROM audit_log WHERE 1 = 1"
        params: list[Any] = []
        if team_id is not None:
            query += " AND team_id = ?"
            params.append(team_id)
        if since is not None:
            query += " AND at >= ?"
            params.append(since)
        query += " ORDER BY at DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(int(limit))
        return [_audit_entry(row) for row in reversed(self._fetch(query, params))]
