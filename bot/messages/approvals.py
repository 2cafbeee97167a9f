"""Fix requests in Slack: the lookup's fix buttons, the approvers' request, outcomes, lists.

Proposals carry HubSpot data (names, team and role labels), so every proposal text is shown
through `untrusted`; only links hsperm built itself (settings pages) become mrkdwn links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    DividerBlock,
    HeaderBlock,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from bot.approvals import APPLIED, DENIED, DONE, EXPIRED, FAILED, PENDING, Proposal
from bot.messages.ids import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_FIX_CONFIRM,
    ACTION_FIX_ROLE,
    ACTION_MARK_DONE,
    ACTION_REQUEST_FIX,
    ACTION_RETRY,
)
from bot.messages.mrkdwn import MAX_MESSAGE_BLOCKS, Message, clip_mrkdwn, code, context, section, untrusted
from bot.store import AuditEntry, FixRequest

_SAFE_URL = re.compile(r"https://[^\s<>|]{1,1000}")
_STATE_WORDS = {
    PENDING: ":hourglass_flowing_sand: Waiting for an approver",
    "approved": ":arrows_counterclockwise: Approved, applying…",
    "applying": ":arrows_counterclockwise: Applying…",
    APPLIED: ":white_check_mark: Applied",
    FAILED: ":x: Failed",
    DENIED: ":no_entry_sign: Denied",
    EXPIRED: ":alarm_clock: Expired",
    DONE: ":white_check_mark: Done",
}


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _link(url: str | None, label: str) -> str | None:
    if not url or not _SAFE_URL.fullmatch(url):
        return None
    return f"<{url.replace('&', '&amp;')}|{label}>"


def fix_value(email: str, ticket_id: str | None, portal_id: str | None, key: str) -> str:
    """A fix button's value: the lookup to redo at click time (facts may have changed) and the fix."""
    return json.dumps({"e": email, "t": ticket_id, "p": portal_id, "k": key}, separators=(",", ":"))


def parse_fix_value(value: str) -> dict[str, str | None] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), str) or not isinstance(data.get("k"), str):
        return None
    return {"email": data["e"], "ticket_id": data.get("t"), "portal_id": data.get("p"), "key": data["k"]}


def _proposal_line(proposal: Proposal) -> str:
    tag = " _(smallest fix)_" if proposal.preferred else ""
    lines = [f"*{untrusted(proposal.title, 120)}*{tag}: {untrusted(proposal.summary, 500)}"]
    changes = proposal.change_lines()
    if changes:
        lines.append("Change: " + untrusted("; ".join(changes), 400))
    if proposal.confirm_note:
        lines.append(f"_{untrusted(proposal.confirm_note, 300)}_")
    if proposal.missing_scope:
        lines.append(
            f":warning: hsperm's HubSpot token lacks the {code(proposal.missing_scope, 80)} scope, so it cannot apply "
            "this: add the scope to hsperm's app (its *Scopes* tab) and look up again."
        )
    return "\n".join(lines)


def fix_blocks(proposals: Sequence[Proposal], *, email: str, ticket_id: str | None, portal_id: str | None) -> list[Block]:
    """The lookup report's fix section: each proposal explained, one request button per fix hsperm can track."""
    if not proposals:
        return []
    blocks: list[Block] = [DividerBlock(), section("*Possible fixes* (an approver decides; smallest first)")]
    blocks += [section(_proposal_line(p)) for p in proposals[:6]]
    buttons = [
        ButtonElement(
            text=("Request: " if p.applies_by_api else "Track: ") + p.title[:66],
            action_id=f"{ACTION_REQUEST_FIX}_{p.key}"[:255],
            value=fix_value(email, ticket_id, portal_id, p.key),
            style="primary" if p.preferred else None,
        )
        for p in proposals[:6]
        if p.can_apply or not p.applies_by_api
    ]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def _facts(proposal: Proposal) -> str:
    who = untrusted(f"{proposal.name} ({proposal.email})", 250)
    parts = [f"*For:* {who}"]
    if proposal.ticket_id:
        parts.append(f"*Ticket:* {code(proposal.ticket_id, 40)}")
    if proposal.portal_id:
        parts.append(f"*Portal:* {code(proposal.portal_id, 40)}")
    return " · ".join(parts)


def request_message(record: FixRequest, proposal: Proposal, *, verdict: str = "", roles: Sequence[Any] = ()) -> Message:
    """The request in the approval channel: who asked, for whom, the facts, the change, the buttons."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="hsperm fix request" if proposal.applies_by_api else "hsperm manual task")),
        section(f"<@{record.requester_id}> asks: *{untrusted(proposal.title, 150)}*\n{_facts(proposal)}"),
    ]
    if verdict:
        blocks.append(section("*Facts (live from HubSpot):* " + untrusted(verdict, 1200)))
    blocks += _change_blocks(proposal)
    blocks.append(context(f"Request `{record.id}` · expires {when(record.expires_at)} · approvers only"))
    blocks.append(_decision_actions(record, proposal, roles))
    text = f"hsperm: <@{record.requester_id}> asks: {untrusted(proposal.title, 150)}"
    return Message(text=text, blocks=tuple(blocks[:MAX_MESSAGE_BLOCKS]))


def _change_blocks(proposal: Proposal) -> list[Block]:
    blocks: list[Block] = []
    changes = proposal.change_lines()
    if changes:
        blocks.append(section("*Change (before -> after):*\n" + "\n".join(f"• {untrusted(c, 400)}" for c in changes)))
    if proposal.steps:
        steps = "\n".join(f"{n}. {untrusted(step, 500)}" for n, step in enumerate(proposal.steps, 1))
        link = _link(proposal.link, "Users & Teams in HubSpot")
        blocks.append(section("*Steps:*\n" + steps + (f"\nSettings: {link}" if link else "")))
    notes = [untrusted(proposal.summary, 500)]
    if proposal.confirm_note:
        notes.append("_" + untrusted(proposal.confirm_note, 300) + "_")
    notes += [":warning: " + untrusted(w, 400) for w in proposal.warnings]
    if proposal.scopes:
        notes.append("Needs scope: " + "; ".join(" or ".join(code(s, 60) for s in g) for g in proposal.scopes))
    blocks.append(section(clip_mrkdwn("\n".join(notes), 2900)))
    return blocks


def _decision_actions(record: FixRequest, proposal: Proposal, roles: Sequence[Any]) -> ActionsBlock:
    elements: list[Any] = []
    if proposal.kind == "assign_role" and roles:
        options = [Option(text=r.name[:75], value=str(r.id)[:150]) for r in roles[:100]]
        initial = next((o for o in options if o.value == proposal.params.get("role_id")), None)
        elements.append(
            StaticSelectElement(
                action_id=ACTION_FIX_ROLE,
                placeholder=PlainTextObject(text="Permission set"),
                options=options,
                initial_option=initial,
            )
        )
    if proposal.needs_confirmation:
        elements.append(
            CheckboxesElement(
                action_id=ACTION_FIX_CONFIRM,
                options=[Option(text="Yes, replace all of their permission sets", value="confirm")],
            )
        )
    if proposal.applies_by_api:
        elements.append(ButtonElement(text="Approve", action_id=ACTION_APPROVE, value=record.id, style="primary"))
        elements.append(ButtonElement(text="Deny", action_id=ACTION_DENY, value=record.id, style="danger"))
    else:
        elements.append(ButtonElement(text="Mark done", action_id=ACTION_MARK_DONE, value=record.id, style="primary"))
        elements.append(ButtonElement(text="Dismiss", action_id=ACTION_DENY, value=record.id))
    return ActionsBlock(block_id=f"hsperm_decide_{record.id}", elements=elements)


def decided_message(record: FixRequest, proposal: Proposal, outcome: str = "") -> Message:
    """The request after a decision, updated in place: who, when, the result; buttons gone (Retry if failed)."""
    state = _STATE_WORDS.get(record.state, record.state)
    by = f" by <@{record.decided_by}>" if record.decided_by and record.state != EXPIRED else ""
    at = when(record.decided_at or record.updated_at) if record.state != EXPIRED else when(record.expires_at)
    blocks: list[Block] = [
        section(f"*{state}*{by} · {at}"),
        section(f"<@{record.requester_id}> asked: *{untrusted(proposal.title, 150)}*\n{_facts(proposal)}"),
        *_change_blocks(proposal)[:-1],
    ]
    if outcome:
        blocks.append(section(untrusted(outcome, 1500)))
    blocks.append(context(f"Request `{record.id}`"))
    if record.state == FAILED:
        retry = ButtonElement(text="Retry", action_id=ACTION_RETRY, value=record.id, style="primary")
        blocks.append(ActionsBlock(block_id=f"hsperm_retry_{record.id}", elements=[retry]))
    text = f"hsperm fix request {record.state}{by}: {untrusted(proposal.title, 150)}"
    return Message(text=text, blocks=tuple(blocks[:MAX_MESSAGE_BLOCKS]))


def requested_message(channel_id: str, permalink: str | None) -> Message:
    where = _link(permalink, "your request") or f"your request in <#{channel_id}>"
    text = f":inbox_tray: Sent {where} to the approvers. I'll tell you the outcome here."
    return Message(text=text, blocks=(section(text),))


def outcome_message(record: FixRequest, proposal: Proposal, outcome: str) -> Message:
    """What the requester hears after the decision (a DM from hsperm)."""
    state = _STATE_WORDS.get(record.state, record.state)
    by = f" by <@{record.decided_by}>" if record.decided_by and record.state != EXPIRED else ""
    text = f"{state}{by}: {untrusted(proposal.title, 150)}"
    if outcome:
        text += "\n" + untrusted(outcome, 1500)
    return Message(text=clip_mrkdwn(text, 3000), blocks=(section(text),))


def pending_message(records: Sequence[FixRequest]) -> Message:
    """`/hsperm pending`: open requests, newest first, with where to decide them."""
    if not records:
        return Message(text="No fix requests are waiting.", blocks=(section(":tada: No fix requests are waiting."),))
    lines = []
    for record in records[:20]:
        proposal = Proposal.from_dict(record.proposal)
        where = f" in <#{record.channel_id}>" if record.channel_id else ""
        lines.append(
            f"• `{record.id}` {untrusted(proposal.title, 120)}: asked by <@{record.requester_id}> {when(record.created_at)}"
            f", expires {when(record.expires_at)}{where}"
        )
    more = f"\n…and {len(records) - 20} more." if len(records) > 20 else ""
    text = f"*{len(records)} fix request{'s' if len(records) != 1 else ''} waiting*\n" + "\n".join(lines) + more
    return Message(text=f"{len(records)} fix requests waiting", blocks=(section(clip_mrkdwn(text, 2900)),))


def audit_line(entry: AuditEntry) -> str:
    actor = f"<@{entry.actor_id}>" if entry.actor_id else "hsperm"
    request = f" `{entry.request_id}`" if entry.request_id else ""
    subject = f" {untrusted(entry.subject, 80)}" if entry.subject else ""
    detail = f": {untrusted(entry.detail, 200)}" if entry.detail else ""
    return f"• {when(entry.at)} {actor} *{entry.action}* {entry.result}{request}{subject}{detail}"


def audit_message(entries: Sequence[AuditEntry]) -> Message:
    """`/hsperm audit [N]`: the newest entries, oldest first."""
    if not entries:
        return Message(text="The audit log is empty.", blocks=(section("The audit log is empty."),))
    lines = [audit_line(e) for e in entries]
    text = f"*Audit log, last {len(entries)}*\n" + "\n".join(lines)
    blocks = [section(clip_mrkdwn(text, 2900))]
    if len(text) > 2900:
        blocks.append(context("Older lines are cut; `python -m bot audit` exports everything."))
    return Message(text=f"hsperm audit log: {len(entries)} entries", blocks=tuple(blocks))


def home_approver_blocks(records: Sequence[FixRequest]) -> list[Block]:
    """App Home, approvers only: what is waiting for a decision."""
    blocks: list[Block] = [DividerBlock(), section("*Fix requests waiting for an approver*")]
    if not records:
        blocks.append(context("Nothing is waiting."))
        return blocks
    for record in records[:10]:
        proposal = Proposal.from_dict(record.proposal)
        where = f" in <#{record.channel_id}>" if record.channel_id else ""
        blocks.append(
            section(
                f"• {untrusted(proposal.title, 120)}: <@{record.requester_id}> asked {when(record.created_at)}"
                f"{where}, expires {when(record.expires_at)}"
            )
        )
    return blocks
