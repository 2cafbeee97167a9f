"""Fix requests: the approval workflow's state, moved only by conditional updates.

A request's `state` changes in one `UPDATE ... WHERE id = ? AND state IN (...)` statement, so two
clicks on two instances cannot both win; this module keeps that rule and the column lists together.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import bot.metrics as metrics
from bot.store.base import StoreBase, _loads

_FIX_COLUMNS = (
    "id", "team_id", "state", "kind", "portal_id", "requester_id", "subject_email", "ticket_id", "proposal_json",
    "channel_id", "message_ts", "decided_by", "decided_at", "intent_json", "intent_at", "attempts", "result_json",
    "created_at", "expires_at", "updated_at",
)  # fmt: skip
_FIX_SELECT = f"SELECT {', '.join(_FIX_COLUMNS)} FROM fix_requests"  # noqa: S608  # nosec B608  # constant column names
#: Columns a state transition may set besides `state` (never the request's identity or its change).
_FIX_MUTABLE = frozenset({"decided_by", "decided_at", "intent_json", "intent_at", "result_json", "proposal_json"})


@dataclass(frozen=True)
class FixRequest:
    """A fix request as stored; `proposal` is the change (bot.approvals.Proposal.to_dict())."""

    id: str
    team_id: str
    state: str
    kind: str
    portal_id: str | None
    requester_id: str
    subject_email: str
    ticket_id: str | None
    proposal: dict[str, Any]
    channel_id: str | None
    message_ts: str | None
    decided_by: str | None
    decided_at: float | None
    intent: dict[str, Any] | None
    intent_at: float | None
    attempts: int
    result: dict[str, Any] | None
    created_at: float
    expires_at: float
    updated_at: float

    def expired_at(self, now: float) -> bool:
        return self.state == "pending" and self.expires_at <= now


def _fix_request(row: Sequence[Any]) -> FixRequest:
    data = dict(zip(_FIX_COLUMNS, row, strict=True))
    return FixRequest(
        id=data["id"],
        team_id=data["team_id"],
        state=data["state"],
        kind=data["kind"],
        portal_id=data["portal_id"],
        requester_id=data["requester_id"],
        subject_email=data["subject_email"],
        ticket_id=data["ticket_id"],
        proposal=json.loads(data["proposal_json"]),
        channel_id=data["channel_id"],
        message_ts=data["message_ts"],
        decided_by=data["decided_by"],
        decided_at=None if data["decided_at"] is None else float(data["decided_at"]),
        intent=_loads(data["intent_json"]),
        intent_at=None if data["intent_at"] is None else float(data["intent_at"]),
        attempts=int(data["attempts"]),
        result=_loads(data["result_json"]),
        created_at=float(data["created_at"]),
        expires_at=float(data["expires_at"]),
        updated_at=float(data["updated_at"]),
    )


class FixRequestsMixin(StoreBase):
    """Create, find and move fix requests."""

    def create_fix_request(
        self,
        *,
        team_id: str,
        kind: str,
        requester_id: str,
        subject_email: str,
        proposal: dict[str, Any],
        ttl_seconds: float,
        portal_id: str | None = None,
        ticket_id: str | None = None,
        now: float | None = None,
    ) -> FixRequest:
        """Store a new request in state `pending`; it expires `ttl_seconds` from now."""
        now = time.time() if now is None else now
        request_id = os.urandom(9).hex()
        with self._cursor() as cur:
            cur.execute(
                self._sql(
                    f"INSERT INTO fix_requests ({', '.join(_FIX_COLUMNS)}) "  # noqa: S608  # nosec B608  # constant column names
                    f"VALUES ({', '.join('?' for _ in _FIX_COLUMNS)})"
                ),
                (
                    request_id, team_id, "pending", kind, portal_id, requester_id, subject_email, ticket_id,
                    json.dumps(proposal, ensure_ascii=False), None, None, None, None, None, None, 0, None,
                    now, now + ttl_seconds, now,
                ),
            )  # fmt: skip
        metrics.approval_state("pending")
        found = self.get_fix_request(request_id)
        assert found is not None  # nosec B101  # narrows the type for the checker
        return found

    def get_fix_request(self, request_id: str, team_id: str | None = None) -> FixRequest | None:
        query = _FIX_SELECT + " WHERE id = ?"
        params: tuple[Any, ...] = (request_id,)
        if team_id is not None:
            query += " AND team_id = ?"
            params += (team_id,)
        rows = self._fetch(query, params)
        return _fix_request(rows[0]) if rows else None

    def attach_fix_message(self, request_id: str, channel_id: str, message_ts: str) -> None:
        """Remember where the approval message is, so a decision can update it in place."""
        with self._cursor() as cur:
            cur.execute(
                self._sql("UPDATE fix_requests SET channel_id = ?, message_ts = ? WHERE id = ?"),
                (channel_id, message_ts, request_id),
            )

    def transition_fix(
        self,
        request_id: str,
        from_states: Sequence[str],
        to_state: str,
        *,
        now: float | None = None,
        unexpired: bool = False,
        expired: bool = False,
        count_attempt: bool = False,
        **fields: Any,
    ) -> bool:
        """Move a request from one of `from_states` to `to_state` in ONE conditional statement.

        True only for the caller whose statement changed the row: a second click, or the same
        click on another instance, finds the state already moved and gets False. `unexpired` /
        `expired` add the TTL to the condition, so approving and expiring cannot both win.
        `fields` sets the columns in `_FIX_MUTABLE` in the same statement.
        """
        now = time.time() if now is None else now
        unknown = set(fields) - _FIX_MUTABLE
        if unknown or not from_states:
            raise ValueError(f"cannot set {sorted(unknown)} on a fix request")
        sets = ["state = ?", "updated_at = ?"] + [f"{name} = ?" for name in fields]
        values: list[Any] = [to_state, now]
        values += [json.dumps(v, ensure_ascii=False) if name.endswith("_json") else v for name, v in fields.items()]
        if count_attempt:
            sets.append("attempts = attempts + 1")
        where = f"id = ? AND state IN ({', '.join('?' for _ in from_states)})"
        values += [request_id, *from_states]
        if unexpired:
            where += " AND expires_at > ?"
            values.append(now)
        if expired:
            where += " AND expires_at <= ?"
            values.append(now)
        with self._cursor() as cur:
            # Column names come from `_FIX_MUTABLE`; every value is a parameter.
            statement = f"UPDATE fix_requests SET {', '.join(sets)} WHERE {where}"  # noqa: S608  # nosec B608  # names from _FIX_MUTABLE; values are parameters
            cur.execute(self._sql(statement), tuple(values))
            moved = cur.rowcount == 1
        if moved:
            metrics.approval_state(to_state)
        return moved

    def fix_requests(self, *, team_id: str | None = None, states: Sequence[str] = (), limit: int = 50) -> list[FixRequest]:
        """Newest first, optionally only some states (e.g. the approvers' pending list)."""
        query = _FIX_SELECT + " WHERE 1 = 1"
        params: list[Any] = []
        if team_id is not None:
            query += " AND team_id = ?"
            params.append(team_id)
        if states:
            query += f" AND state IN ({', '.join('?' for _ in states)})"
            params += list(states)
        query += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(int(limit))
        return [_fix_request(row) for row in self._fetch(query, params)]

    def applied_fixes(self, subject_email: str, *, since: float, limit: int = 10) -> list[FixRequest]:
        """Fixes applied to this user (any Slack workspace) since `since`, newest first: the lookup
        asks whether the user has logged in since. `applied` is final, so `updated_at` is when."""
        rows = self._fetch(
            _FIX_SELECT + " WHERE state = 'applied' AND LOWER(subject_email) = ? AND updated_at >= ? "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (subject_email.lower(), since, int(limit)),
        )
        return [_fix_request(row) for row in rows]

    def stale_fix_requests(self, older_than: float) -> list[FixRequest]:
        """Requests an instance stopped working on (a crash): `applying` since before `older_than`, or
        `approved` then and never started."""
        rows = self._fetch(
            _FIX_SELECT + " WHERE (state = 'applying' AND intent_at < ?) OR (state = 'approved' AND decided_at < ?) "
            "ORDER BY updated_at",
            (older_than, older_than),
        )
        return [_fix_request(row) for row in rows]
