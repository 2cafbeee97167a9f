"""Running a fix request: every state change one conditional update, HubSpot written once.

`FixService` gets the store and a HubSpot client from its caller, so tests drive it with the
fake servers and several instances can share one database: `decide` lets exactly one click win,
`apply` records the intent before the write and verifies after it, and `reconcile` settles what a
crashed instance left `applying` by reading HubSpot, never by writing again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from bot.approvals.proposals import (
    APPLIED,
    APPLY_GRACE_SECONDS,
    APPLYING,
    APPROVED,
    DENIED,
    DONE,
    EXPIRED,
    FAILED,
    PENDING,
    TRANSITIONS,
    Proposal,
    logout_note,
    missing_scope,
)
from bot.approvals.writes import Write, change_visible, plan_write, reads_ticket

if TYPE_CHECKING:
    from bot.store import FixRequest, Store

log = logging.getLogger(__name__)


class HubSpotWrites(Protocol):
    """What FixService needs from the HubSpot client."""

    def get_user(self, user_id: str, portal_id: str | None = None) -> Any: ...
    def get_ticket(self, ticket_id: str, portal_id: str | None = None) -> Any: ...
    def update_user(self, user_id: str, body: Mapping[str, Any], portal_id: str | None = None) -> Any: ...
    def update_ticket(self, ticket_id: str, properties: Mapping[str, Any], portal_id: str | None = None) -> Any: ...
    def permitted_users(self, portal_id: str, object_id: str) -> Any: ...
    def token_info(self, portal_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    """What a click or a run achieved, for the handler to render. `ok` False = refused/failed."""

    ok: bool
    request: FixRequest | None
    message: str
    #: refused clicks: why (shown to the clicker only)
    refusal: str | None = None
    #: this call expired the request (so its message and its requester are told once)
    expired_now: bool = False


class FixService:
    """Runs fix requests: every state change is one conditional update; HubSpot is written once.

    `approve` wins the request for one clicker; `apply` records the intent, writes, verifies and
    finishes; `reconcile` settles requests a crashed instance left in `applying` by reading
    HubSpot, never by writing again.
    """

    def __init__(
        self,
        store: Store,
        hubspot: HubSpotWrites | None,
        *,
        ttl_hours: float,
        clock: Callable[[], float] = time.time,
        grace_seconds: float = APPLY_GRACE_SECONDS,
    ) -> None:
        self.store = store
        self.hubspot = hubspot
        self.ttl_seconds = ttl_hours * 3600.0
        self.clock = clock
        self.grace_seconds = grace_seconds

    # -- creating -----------------------------------------------------------------------------

    def request(self, *, team_id: str, requester_id: str, proposal: Proposal) -> FixRequest:
        record = self.store.create_fix_request(
            team_id=team_id,
            kind=proposal.kind,
            requester_id=requester_id,
            subject_email=proposal.email,
            proposal=proposal.to_dict(),
            ttl_seconds=self.ttl_seconds,
            portal_id=proposal.portal_id,
            ticket_id=proposal.ticket_id,
            now=self.clock(),
        )
        self._audit(record, requester_id, "request", "ok", after=proposal.to_dict()["after"] or None)
        return record

    # -- deciding -----------------------------------------------------------------------------

    def refuse(self, record: FixRequest | None, team_id: str, actor: str, action: str, reason: str) -> Outcome:
        """A click that changes nothing: audited, and the reason goes back to the clicker."""
        self.store.audit(
            team_id=team_id,
            actor_id=actor,
            action=action,
            result="refused",
            request_id=record.id if record else None,
            subject=record.subject_email if record else None,
            detail=reason,
            now=self.clock(),
        )
        return Outcome(False, record, reason, refusal=reason)

    def expire_if_due(self, record: FixRequest) -> tuple[FixRequest, bool]:
        """Expire a pending request past its TTL; True only for the caller whose update expired it."""
        now = self.clock()
        if record.state != PENDING or record.expires_at > now:
            return record, False
        expired_now = self.store.transition_fix(record.id, TRANSITIONS[EXPIRED], EXPIRED, now=now, expired=True)
        if expired_now:
            self._audit(record, None, "expire", "ok")
        return self.store.get_fix_request(record.id) or record, expired_now

    def decide(self, record: FixRequest, actor: str, action: str, *, proposal: Proposal | None = None) -> Outcome:
        """approve / deny / retry / done for an already-authorised actor; loses cleanly to a faster click."""
        record, expired_now = self.expire_if_due(record)
        now = self.clock()
        target = {"approve": APPROVED, "retry": APPROVED, "deny": DENIED, "done": DONE}[action]
        sources = (FAILED,) if action == "retry" else (PENDING,)
        fields: dict[str, Any] = {"decided_by": actor, "decided_at": now}
        if proposal is not None:
            fields["proposal_json"] = proposal.to_dict()
        won = self.store.transition_fix(record.id, sources, target, now=now, unexpired=(sources == (PENDING,)), **fields)
        fresh = self.store.get_fix_request(record.id) or record
        if not won:
            # The TTL may have run out between the two statements: expire it now, then say so.
            fresh, expired_late = self.expire_if_due(fresh)
            refused = self.refuse(fresh, record.team_id, actor, action, self.why_not(fresh, action))
            return replace(refused, expired_now=expired_now or expired_late)
        self._audit(fresh, actor, action, "ok")
        return Outcome(True, fresh, f"{action} by {actor}")

    def withdraw(self, record: FixRequest, reason: str) -> None:
        """A request no approver can see (its message could not be posted) ends as expired, audited."""
        if self.store.transition_fix(record.id, TRANSITIONS[EXPIRED], EXPIRED, now=self.clock()):
            self._audit(record, None, "expire", "ok", detail=reason)

    def why_not(self, record: FixRequest, action: str) -> str:
        """Why a click on this request changes nothing now (its state moved on)."""
        by = f" by <@{record.decided_by}>" if record.decided_by else ""
        if record.state == EXPIRED:
            return "This request has expired: nothing was changed. Run the lookup again to request the fix anew."
        if record.state == PENDING and action == "retry":
            return "This request has not been decided yet."
        if record.state == FAILED and action != "retry":
            return f"This request was approved{by} and the change failed; use its Retry button."
        if record.state in (APPROVED, APPLYING):
            return f"This request was already approved{by} and is being applied: nothing else was changed."
        if record.state == PENDING:
            return "This request is still waiting for a decision: nothing was changed."
        return f"This request was already {record.state}{by}: nothing was changed."

    # -- applying -----------------------------------------------------------------------------

    def apply(self, request_id: str) -> Outcome:
        """approved -> applying (intent recorded) -> write -> applied/failed, then verify."""
        record = self.store.get_fix_request(request_id)
        if record is None or record.state != APPROVED:
            return Outcome(False, record, "not approved")
        proposal = Proposal.from_dict(record.proposal)
        if self.hubspot is None:
            return self._fail_before_write(record, "hsperm has no HubSpot token configured, so it cannot apply fixes.")
        try:
            self._check_scopes(proposal)
            current = self._read(proposal)
            write = plan_write(proposal, current)
        except Exception as exc:
            return self._fail_before_write(record, _say(exc))
        if change_visible(proposal, current):
            write = replace(write, body={})  # nothing to send: HubSpot already holds the change
        now = self.clock()
        if not self.store.transition_fix(
            record.id,
            TRANSITIONS[APPLYING],
            APPLYING,
            now=now,
            count_attempt=True,
            intent_json=write.to_dict(),
            intent_at=now,
        ):
            return Outcome(False, self.store.get_fix_request(record.id), "another instance is applying this request")
        self._audit(record, record.decided_by, "intent", "ok", before=dict(write.before), after=dict(write.body) or None)
        error: str | None = None
        if write.body:
            try:
                self._send(proposal, write)
            except Exception as exc:
                error = _say(exc)
        return self._finish(record.id, proposal, write, error)

    def _finish(self, request_id: str, proposal: Proposal, write: Write, error: str | None) -> Outcome:
        """Read HubSpot back: the change is applied only if HubSpot shows it (even after an error)."""
        try:
            current = self._read(proposal)
            visible = change_visible(proposal, current)
        except Exception as exc:
            current, visible = None, False
            error = error or f"could not read the change back: {_say(exc)}"
        result: dict[str, Any] = {"verified": visible}
        if visible:
            result.update(self._verify(proposal))
            target = APPLIED
        else:
            result["error"] = error or "HubSpot does not show the change after the write."
            target = FAILED
        result["after"] = _snapshot(proposal, current) if current is not None else None
        result["message"] = self.result_message(proposal, result)
        now = self.clock()
        if not self.store.transition_fix(request_id, TRANSITIONS[target], target, now=now, result_json=result):
            return Outcome(False, self.store.get_fix_request(request_id), "the request was settled elsewhere")
        record = self.store.get_fix_request(request_id)
        assert record is not None  # nosec B101  # narrows the type for the checker
        self._audit(
            record,
            record.decided_by,
            "apply",
            "ok" if visible else "failed",
            before=dict(write.before),
            after=result["after"],
            detail=result["message"],
        )
        return Outcome(visible, record, result["message"])

    def _verify(self, proposal: Proposal) -> dict[str, Any]:
        """HubSpot's own per-record check after the change (when there is a ticket and it answers)."""
        if not proposal.ticket_id or not proposal.portal_id or not proposal.user_id:
            return {}
        assert self.hubspot is not None  # nosec B101  # narrows the type for the checker
        try:
            permitted = self.hubspot.permitted_users(proposal.portal_id, proposal.ticket_id)
            return {"can_view": permitted.allows(proposal.user_id, "VIEW")}
        except Exception as exc:
            return {"can_view": None, "check_error": _say(exc)}

    @staticmethod
    def result_message(proposal: Proposal, result: Mapping[str, Any]) -> str:
        name, tid = proposal.name, proposal.ticket_id
        change = "; ".join(proposal.change_lines()) or proposal.title
        if not result.get("verified"):
            return f"Not applied: {result.get('error') or 'HubSpot does not show the change'}. Nothing else was changed."
        can_view = result.get("can_view")
        logout = logout_note(name)
        if not tid:
            return f"Applied and read back ({change}). {logout}"
        if can_view is True:
            return f"verified: {name} can now view ticket {tid} (HubSpot's own check). {logout}"
        if can_view is False:
            return (
                f"Applied ({change}), but HubSpot's own check still says {name} cannot view ticket {tid}: "
                f"{proposal.confirm_note} {logout}"
            )
        why = result.get("check_error") or "HubSpot's per-record check gave no answer"
        return f"Applied and read back ({change}); {why}, so access to ticket {tid} is not confirmed. {logout}"

    # -- crash recovery -----------------------------------------------------------------------

    def reconcile(self, *, now: float | None = None) -> list[Outcome]:
        """Settle requests a crashed instance left `applying` (or `approved`): read HubSpot, never write again."""
        now = self.clock() if now is None else now
        return [self.reconcile_one(record) for record in self.store.stale_fix_requests(now - self.grace_seconds)]

    def stale(self, record: FixRequest) -> bool:
        """Left `applying` (or `approved`) longer than any live write takes: its instance is gone."""
        since = {APPLYING: record.intent_at, APPROVED: record.decided_at}.get(record.state)
        return since is not None and since < self.clock() - self.grace_seconds

    def reconcile_one(self, record: FixRequest) -> Outcome:
        if record.state == APPROVED:  # approved, then the instance died before recording any intent
            return self._fail_before_write(record, "hsperm stopped before applying it; nothing was sent to HubSpot")
        proposal = Proposal.from_dict(record.proposal)
        intent = record.intent or {}
        write = Write(intent.get("method", ""), intent.get("path", ""), intent.get("body") or {}, intent.get("before") or {})
        if self.hubspot is None:
            return Outcome(False, record, "no HubSpot token to check with")
        log.warning("fix request %s was left applying (a crash?); reading HubSpot to settle it", record.id)
        return self._finish(
            record.id, proposal, write, "hsperm stopped while applying it and HubSpot does not show the change"
        )

    # -- helpers ------------------------------------------------------------------------------

    def _check_scopes(self, proposal: Proposal) -> None:
        assert self.hubspot is not None  # nosec B101  # narrows the type for the checker
        info = self.hubspot.token_info(proposal.portal_id)
        lacking = missing_scope(proposal.scopes, getattr(info, "scopes", None))
        if lacking:
            raise ScopeMissing(f"hsperm's HubSpot token lacks the `{lacking}` scope: add it to hsperm's app, then retry")

    def _read(self, proposal: Proposal) -> Any:
        assert self.hubspot is not None  # nosec B101  # narrows the type for the checker
        if reads_ticket(proposal):
            return self.hubspot.get_ticket(proposal.ticket_id or "", proposal.portal_id)
        return self.hubspot.get_user(proposal.user_id or "", proposal.portal_id)

    def _send(self, proposal: Proposal, write: Write) -> None:
        assert self.hubspot is not None  # nosec B101  # narrows the type for the checker
        if write.method == "PATCH":
            self.hubspot.update_ticket(proposal.ticket_id or "", write.body["properties"], proposal.portal_id)
        else:
            self.hubspot.update_user(proposal.user_id or "", write.body, proposal.portal_id)

    def _fail_before_write(self, record: FixRequest, reason: str) -> Outcome:
        """Nothing was sent: approved -> applying -> failed, so the Retry path is the same."""
        now = self.clock()
        message = f"Not applied: {reason}. Nothing was changed."
        if self.store.transition_fix(record.id, TRANSITIONS[APPLYING], APPLYING, now=now, intent_json={}, intent_at=now):
            self.store.transition_fix(
                record.id,
                TRANSITIONS[FAILED],
                FAILED,
                now=now,
                result_json={"verified": False, "error": reason, "message": message},
            )
        fresh = self.store.get_fix_request(record.id) or record
        self._audit(fresh, record.decided_by, "apply", "failed", detail=reason)
        return Outcome(False, fresh, message)

    def _audit(
        self,
        record: FixRequest,
        actor: str | None,
        action: str,
        result: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: str | None = None,
    ) -> None:
        try:
            self.store.audit(
                team_id=record.team_id,
                actor_id=actor,
                action=action,
                result=result,
                request_id=record.id,
                subject=record.subject_email,
                before=before,
                after=after,
                detail=detail,
                now=self.clock(),
            )
        except Exception:
            log.exception("could not write the audit entry for %s %s", action, record.id)


class ScopeMissing(Exception):
    """hsperm's token cannot make this write; the message names the scope to add."""


def _say(exc: Exception) -> str:
    """An exception as a sentence for Slack: HubSpot errors are already friendly and token-free."""
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__


def _snapshot(proposal: Proposal, current: Any) -> dict[str, Any]:
    if reads_ticket(proposal):
        return {"hubspot_owner_id": current.owner_id, "hubspot_team_id": current.team_id}
    return {
        "roleId": current.role_id,
        "roleIds": list(current.role_ids),
        "primaryTeamId": current.primary_team_id,
        "secondaryTeamIds": list(current.secondary_team_ids),
    }
