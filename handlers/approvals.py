"""Fix requests: the lookup's `hsperm_request_fix…` buttons and the approvers' decisions.

Every click is acked at once; the work (policy checks that may ask Slack for a user group's
members, HubSpot reads and the write) runs on the work queue. Who may do what is decided here on
the server at every click, never from what the button carries: a button's value only names the
request (or, for a fix button, the lookup to redo, so the request shows current facts).
"""

from __future__ import annotations

import re
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals import APPLYING, APPROVED, PENDING, FixService, Outcome, Proposal, propose, with_role
from bot.messages.approvals import (
    audit_message,
    decided_message,
    outcome_message,
    parse_fix_value,
    pending_message,
    request_message,
    requested_message,
)
from bot.messages.diagnosis import busy_message, notice_message, problem_message
from bot.messages.ids import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_FIX_CONFIRM,
    ACTION_FIX_ROLE,
    ACTION_MARK_DONE,
    ACTION_REQUEST_FIX,
    ACTION_RETRY,
)
from bot.messages.mrkdwn import untrusted
from bot.policy import Decision
from bot.services import Services
from bot.store import FixRequest
from handlers.context import Origin, defer, origin, services

_DECISIONS = {ACTION_APPROVE: "approve", ACTION_DENY: "deny", ACTION_MARK_DONE: "done", ACTION_RETRY: "retry"}


def register(app: App) -> None:
    app.action(re.compile(f"^{ACTION_REQUEST_FIX}"))(on_request_fix)
    for action_id in _DECISIONS:
        app.action(action_id)(on_decision)
    # The role picker and the confirmation box in a request only matter when Approve is clicked
    # (their state comes with that click); changing them needs no answer but the ack.
    app.action(ACTION_FIX_ROLE)(_ack_only)
    app.action(ACTION_FIX_CONFIRM)(_ack_only)


def _ack_only(ack: Ack) -> None:
    ack()


def _say(respond: Respond, text: str) -> None:
    respond(replace_original=False, response_type="ephemeral", **notice_message(text).kwargs())


# -- requesting a fix ----------------------------------------------------------------------------


def on_request_fix(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext,
    logger: Logger,
) -> None:  # fmt: skip
    ack()
    svc, who = services(context), origin(context)
    job = (svc, who, str(action.get("value") or ""), respond, client, logger)
    if not defer(context, request_fix, *job):
        respond(replace_original=False, **busy_message().kwargs())


def may_read(services: Services, who: Origin, action: str) -> Decision:
    """The read policy (HSPERM_LOOKUP_ALLOWED) for this person here; a refusal is audited."""
    decision = services.readers.check(
        user_id=who.user_id, user_team_id=who.user_team_id, home_team_id=who.home_team_id, channel_id=who.channel_id
    )
    if not decision.allowed:
        services.store.audit(team_id=who.team_id, actor_id=who.user_id, action=action, result="refused",
                             detail=decision.reason)  # fmt: skip
    return decision


def request_fix(services: Services, who: Origin, value: str, respond: Respond, client: WebClient, logger: Logger) -> None:
    try:
        allowed = may_read(services, who, "request")
        if not allowed.allowed:
            _say(respond, allowed.reason)
            return
        wanted = parse_fix_value(value)
        if wanted is None or services.lookup is None:
            _say(respond, "That button no longer works. Run `/hsperm user …` again to see the fixes.")
            return
        channel = services.settings.approval_channel
        if not channel or not services.approvers.configured:
            _say(
                respond,
                "Fix requests are not set up here: whoever runs hsperm sets HSPERM_APPROVAL_CHANNEL and HSPERM_APPROVERS.",
            )
            return
        report = services.lookup.lookup(wanted["email"] or "", ticket_id=wanted["ticket_id"], portal_id=wanted["portal_id"])
        roles = portal_roles(services, report.portal_id, logger)
        proposal = next((p for p in propose(report, roles=roles) if p.key == wanted["key"]), None)
        if proposal is None:
            _say(respond, f"That fix no longer applies. HubSpot now says: {untrusted(report.verdict, 1000)}")
            return
        if proposal.missing_scope:
            _say(respond, f"hsperm lacks the HubSpot scope `{proposal.missing_scope}`, so this fix cannot be applied.")
            return
        record = services.fixes.request(team_id=who.team_id, requester_id=who.user_id, proposal=proposal)
        message = request_message(record, proposal, verdict=report.verdict, roles=roles)
        try:
            posted = client.chat_postMessage(channel=channel, unfurl_links=False, **message.kwargs())
        except SlackApiError as exc:
            # No approver can see it, so it must not linger as pending: it ends here, audited.
            logger.warning("could not post fix request %s: %s", record.id, exc.response.get("error"))
            services.fixes.withdraw(record, f"could not be posted in the approval channel ({exc.response.get('error')})")
            _say(respond, "I couldn't post the request in the approvals channel: is hsperm a member of it?")
            return
        services.store.attach_fix_message(record.id, posted["channel"], posted["ts"])
        link = _permalink(client, posted["channel"], posted["ts"])
        respond(replace_original=False, response_type="ephemeral", **requested_message(posted["channel"], link).kwargs())
    except Exception:
        logger.exception("requesting a fix failed")
        respond(replace_original=False, **problem_message().kwargs())


def portal_roles(services: Services, portal_id: str | None, logger: Logger) -> list[Any]:
    """The portal's permission sets for the role fix; without them that one fix is not offered."""
    if services.lookup is None:
        return []
    try:
        return services.lookup.roles(portal_id)
    except Exception as exc:
        logger.info("no permission sets for fix proposals: %s", type(exc).__name__)
        return []


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError:
        return None


# -- deciding ------------------------------------------------------------------------------------


def on_decision(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext,
    logger: Logger,
) -> None:  # fmt: skip
    ack()
    kind = _DECISIONS[action.get("action_id", "")]
    job = (services(context), origin(context), kind, str(action.get("value") or ""), body, respond, client, logger)
    if not defer(context, decide, *job):
        respond(replace_original=False, **busy_message().kwargs())


def decide(
    services: Services, who: Origin, kind: str, request_id: str, body: dict[str, Any], respond: Respond,
    client: WebClient, logger: Logger,
) -> None:  # fmt: skip
    fixes = services.fixes
    try:
        record = services.store.get_fix_request(request_id, who.team_id)
        if record is None:
            fixes.refuse(None, who.team_id, who.user_id, kind, "unknown request")
            _say(respond, "I can't find that fix request.")
            return
        if fixes.stale(record):
            settle(services, fixes.reconcile_one(record), client, logger)
            record = services.store.get_fix_request(request_id) or record
        allowed = services.approvers.may_decide(who.user_id, record.requester_id)
        if not allowed.allowed:
            _say(respond, fixes.refuse(record, who.team_id, who.user_id, kind, allowed.reason).message)
            return
        proposal = Proposal.from_dict(record.proposal)
        changed = None
        if kind in ("approve", "retry"):
            changed, refusal = _approver_choices(services, proposal, body)
            if refusal:
                _say(respond, fixes.refuse(record, who.team_id, who.user_id, kind, refusal).message)
                return
        outcome = fixes.decide(record, who.user_id, kind, proposal=changed)
        if not outcome.ok:
            if outcome.expired_now:
                settle(services, outcome, client, logger)
            _say(respond, outcome.message)
            return
        if kind in ("deny", "done"):
            settle(services, outcome, client, logger)
            return
        update(client, outcome.request, "Applying the change in HubSpot…", logger)
        settle(services, fixes.apply(request_id), client, logger)
    except Exception:
        logger.exception("deciding fix request %s failed", request_id)
        respond(replace_original=False, **problem_message().kwargs())


def _approver_choices(services: Services, proposal: Proposal, body: dict[str, Any]) -> tuple[Proposal | None, str | None]:
    """The role the approver picked and the several-roles confirmation, read from the click's state."""
    if proposal.kind != "assign_role":
        return None, None
    values: dict[str, Any] = {}
    for block in ((body.get("state") or {}).get("values") or {}).values():
        values.update(block)
    if proposal.needs_confirmation:
        ticked = (values.get(ACTION_FIX_CONFIRM) or {}).get("selected_options") or []
        if not any(o.get("value") == "confirm" for o in ticked):
            return None, (
                f"{proposal.name} has several permission sets and the API keeps only one: tick "
                "'Yes, replace all of their permission sets' first. Nothing was changed."
            )
    picked = ((values.get(ACTION_FIX_ROLE) or {}).get("selected_option") or {}).get("value")
    if not picked or picked == proposal.params.get("role_id") or services.lookup is None:
        return None, None
    role = next((r for r in services.lookup.roles(proposal.portal_id) if r.id == picked), None)
    if role is None:
        return None, "That permission set no longer exists in HubSpot. Nothing was changed."
    chosen = with_role(proposal, role, services.lookup.token_scopes(proposal.portal_id))
    if chosen.missing_scope:
        return None, f"hsperm's HubSpot token lacks `{chosen.missing_scope}`, needed for {role.name}. Nothing was changed."
    return chosen, None


def update(client: WebClient, record: FixRequest | None, outcome: str, logger: Logger) -> None:
    """Rewrite the request in the approval channel in place (chat.update): who, when, result."""
    if record is None or not record.channel_id or not record.message_ts:
        return
    message = decided_message(record, Proposal.from_dict(record.proposal), outcome)
    try:
        client.chat_update(channel=record.channel_id, ts=record.message_ts, **message.kwargs())
    except SlackApiError as exc:
        logger.warning("could not update fix request %s in Slack: %s", record.id, exc.response.get("error"))


def settle(services: Services, outcome: Outcome, client: WebClient, logger: Logger) -> None:
    """A request reached a result: update it in place and tell the requester."""
    record = outcome.request
    if record is None or record.state == PENDING:
        return
    result = (record.result or {}).get("message") or ""
    update(client, record, result, logger)
    message = outcome_message(record, Proposal.from_dict(record.proposal), result)
    try:
        client.chat_postMessage(channel=record.requester_id, **message.kwargs())
    except SlackApiError as exc:
        logger.warning("could not tell the requester of %s: %s", record.id, exc.response.get("error"))


def reconcile_on_start(fixes: FixService, services: Services, client: WebClient, logger: Logger) -> None:
    """Settle what a crashed instance left `applying`, by reading HubSpot (never writing again)."""
    try:
        for outcome in fixes.reconcile():
            settle(services, outcome, client, logger)
    except Exception:
        logger.exception("reconciling fix requests at start-up failed")


# -- approvers' commands -------------------------------------------------------------------------

#: `/hsperm audit` shows this many entries unless told otherwise, and never more than the cap.
AUDIT_DEFAULT, AUDIT_MAX = 10, 50


def approver_command(
    services: Services, who: Origin, word: str, args: list[str], respond: Respond, client: WebClient, logger: Logger
) -> None:
    """`/hsperm pending` and `/hsperm audit [N]`: approvers only; anyone else is refused (and audited)."""
    try:
        if not services.approvers.is_approver(who.user_id):
            reason = "Only hsperm's approvers (HSPERM_APPROVERS) can see pending requests and the audit log."
            services.store.audit(team_id=who.team_id, actor_id=who.user_id, action=word, result="refused", detail=reason)
            respond(response_type="ephemeral", **notice_message(reason).kwargs())
            return
        if word == "audit":
            count = min(int(args[0]), AUDIT_MAX) if args else AUDIT_DEFAULT
            entries = services.store.audit_entries(team_id=who.team_id, limit=max(count, 1))
            respond(response_type="ephemeral", **audit_message(entries).kwargs())
            return
        respond(response_type="ephemeral", **pending_message(open_requests(services, who.team_id, client, logger)).kwargs())
    except Exception:
        logger.exception("/hsperm %s failed", word)
        respond(**problem_message().kwargs())


def open_requests(services: Services, team_id: str, client: WebClient, logger: Logger) -> list[FixRequest]:
    """Pending requests, after settling the overdue: expired ones and crashed applies (lazily)."""
    fixes = services.fixes
    for record in services.store.fix_requests(team_id=team_id, states=(APPROVED, APPLYING)):
        if fixes.stale(record):
            settle(services, fixes.reconcile_one(record), client, logger)
    waiting = []
    for record in services.store.fix_requests(team_id=team_id, states=(PENDING,)):
        fresh, expired_now = fixes.expire_if_due(record)
        if expired_now:
            settle(services, Outcome(False, fresh, "expired"), client, logger)
        elif fresh.state == PENDING:
            waiting.append(fresh)
    return waiting
