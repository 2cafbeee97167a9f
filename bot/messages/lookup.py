"""A live lookup in Slack: progress, the report, and the short refusals around it.

Everything in a PermissionReport that came from HubSpot (names, team labels, subjects, error
messages, and the verdict built from them) is treated like a paste: `untrusted` or `code`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock, MarkdownTextObject, SectionBlock

from bot.forensics import Forensics
from bot.lookup import PermissionReport, TicketFacts, TokenFacts, UserFacts
from bot.messages.help import lookup_usage
from bot.messages.ids import LOOKUP_SETTING
from bot.messages.mrkdwn import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_CHARS,
    Message,
    block_chars,
    clip_mrkdwn,
    code,
    context,
    escape,
    section,
    untrusted,
)
from bot.redact import redact

_VERDICT_ICONS = {True: ":white_check_mark:", False: ":no_entry:", None: ":grey_question:"}
_TOKEN_KINDS = {"private_app": "private app / service key", "oauth": "OAuth access token"}
_SAFE_URL = re.compile(r"https://[^\s<>|]{1,1000}")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
#: How many problems and unknowns a report shows before it says "and N more" (keeps it < 50 blocks
#: and within Slack's total message size whatever HubSpot answers).
_MAX_REPORT_ITEMS = 6



def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _link(url: str | None, label: str) -> str | None:
    """A `<url|label>` link, only for a plain https URL: HubSpot data never becomes mrkdwn syntax."""
    if not url or not _SAFE_URL.fullmatch(url):
        return None
    return f"<{url.replace('&', '&amp;')}|{escape(label)}>"


def _person(email: str | None, slack_user: str | None) -> str:
    if slack_user and _SLACK_USER_ID.fullmatch(slack_user):
        return f"<@{slack_user}>"
    return untrusted(email or "the user", 200)


def _labels(refs: Sequence[object], limit: int = 600) -> str:
    return untrusted(", ".join(str(ref) for ref in refs), limit) if refs else "none"


def lookup_progress_message(
    email: str | None = None,
    *,
    slack_user: str | None = None,
    ticket_id: str | None = None,
    portal_id: str | None = None,
) -> Message:
    """The ack of `/hsperm user`: who is being looked up, shown while HubSpot is read."""
    text = f":hourglass_flowing_sand: Looking up {_person(email, slack_user)}"
    if portal_id:
        text += f" in portal {untrusted(portal_id, 30)}"
    if ticket_id:
        text += f" (ticket {untrusted(ticket_id, 30)})"
    text += "…"
    return Message(text=text.split(" ", 1)[1], blocks=(section(text),))


def lookup_not_configured_message() -> Message:
    """Names the variable: the person who reads this passes it on to whoever runs hsperm."""
    text = (
        f":electric_plug: Live lookup needs a HubSpot token: whoever runs hsperm sets `{LOOKUP_SETTING}` "
        "(hsperm's private app token; `HUBSPOT_PORTAL_TOKENS` for several portals) and restarts it. "
        "Pasted errors are explained without it."
    )
    fallback = f"hsperm: live lookup needs {LOOKUP_SETTING} to be set where hsperm runs."
    return Message(text=fallback, blocks=(section(text),))


def lookup_usage_message(problem: str) -> Message:
    """A refused `/hsperm user …`: what was wrong (the user's own words, escaped), then the syntax."""
    text = (
        f":information_source: {untrusted(problem, 500)}\n"
        f"Usage: {lookup_usage()}, e.g. `/hsperm user ann@example.com ticket 123 portal 342871372` "
        "or `/hsperm user @Ann ticket 123`."
    )
    return Message(text=clip_mrkdwn("hsperm: " + redact(problem), 300), blocks=(section(text),))


def lookup_failed_message(reason: str) -> Message:
    """The lookup could not start (no token for that portal, malformed id): the reason, escaped."""
    return Message(
        text=clip_mrkdwn("hsperm lookup: " + redact(reason), 300),
        blocks=(section(f":warning: {untrusted(reason, 1500)}"),),
    )


def _user_blocks(user: UserFacts | None) -> list[Block]:
    if user is None:
        return []
    if not user.found:
        return [section(f"*User:* no HubSpot user has the email {code(user.email)}.")]
    if user.owner_id:
        owner = f"owner id {code(user.owner_id, 40)}"
    else:
        owner = "no CRM owner record" if user.owner_checked else "owner id unknown"
    teams = [f"{t.label} (primary)" if t is user.primary_team else t.label for t in user.teams]
    fields = [
        f"*User*\n{untrusted(user.name or user.email, 200)}\n{code(user.email)}",
        f"*Permission set*\n{_labels([r.label for r in user.roles])}",
        f"*Teams*\n{_labels(teams)}",
        f"*Super Admin*\n{_yes_no(user.super_admin)}",
        f"*Seats*\n{_labels(list(user.seats), 300)}",
        f"*Ids*\nuser id {code(user.user_id or '?', 40)}, {owner}",
    ]
    return [SectionBlock(fields=[MarkdownTextObject(text=field) for field in fields])]


def _ticket_blocks(ticket: TicketFacts | None) -> list[Block]:
    if ticket is None:
        return []
    if not ticket.found:
        return [section(f"*Ticket {code(ticket.id, 40)}:* not found in this portal.")]
    title = _link(ticket.url, f"Ticket {ticket.id}") or f"Ticket {code(ticket.id, 40)}"
    if ticket.owner_id:
        owner = f"{untrusted(ticket.owner_name or 'unknown name', 200)} (owner id {code(ticket.owner_id, 40)})"
    else:
        owner = "none (unassigned)"
    fields = [
        f"*{title}*\n{untrusted(ticket.subject or '(no subject)', 300)}",
        f"*Owner*\n{owner}",
        f"*Team*\n{untrusted(ticket.team.label, 200) if ticket.team else 'none'}",
    ]
    return [SectionBlock(fields=[MarkdownTextObject(text=field) for field in fields])]


def _access_line(report: PermissionReport) -> str | None:
    access = report.access
    if access is None:
        return None
    head = "*HubSpot's own permission check* (permitted-users, beta): "
    if access.answered:
        return head + f"can view: *{_yes_no(access.can_view)}* · can edit: *{_yes_no(access.can_edit)}*"
    return head + f"no answer ({untrusted(access.reason or 'no reason given', 300)})"


def _token_line(token: TokenFacts | None) -> str | None:
    if token is None:
        return None
    kind = _TOKEN_KINDS.get(token.kind, token.kind)
    lines = [
        f"*hsperm's token:* {untrusted(kind, 60)}, portal {code(token.hub_id or 'unknown', 40)}; "
        f"scopes: {', '.join(code(s, 80) for s in token.scopes[:40]) or 'none'}" + (" …" if len(token.scopes) > 40 else "")
    ]
    if token.required:
        lines.append("Required by the error: " + ", ".join(code(r, 80) for r in token.required[:12]))
        if token.permission_names:
            names = ", ".join(code(n, 80) for n in token.permission_names[:12])
            lines.append(f"{names}: HubSpot *user* permission names, not OAuth scopes; no token scope grants them.")
        if token.has_required is not None:
            granted = ", ".join(code(g, 80) for g in token.granted)
            lines.append("Token has one of them: " + (f"*yes* ({granted})" if token.has_required else "*no*"))
    return "\n".join(lines)


def forensics_text(section: Forensics) -> str:
    """One forensics section as mrkdwn: names and emails in it came from HubSpot, so each line is
    escaped; a record's link is shown only when it is a plain https URL. The first findings are
    shown, then every gap (what is unknown matters as much), within one section's 3000 characters."""
    lines = []
    for finding in section.findings:
        line = untrusted(finding.line, 350)
        link = _link(finding.link, "in HubSpot")
        lines.append(f"{line} ({link})" if link else line)
    gaps = [f"• :grey_question: {untrusted(gap.text, 260)}" for gap in section.gaps[:3]]
    head = f"*{untrusted(section.title, 200)}*"
    if section.scope_note:
        head += f" · {untrusted(section.scope_note, 200)}"
    return "\n".join([head, *([_bullets(lines)] if lines else []), *gaps])


def forensics_message(part: Forensics) -> Message:
    """A follow-up under a pasted error's checklist: what HubSpot's own records say changed."""
    first = part.lines()[0] if part.lines() else part.title
    blocks = (
        section(forensics_text(part)),
        context("hsperm · from HubSpot's own records (security activity log, API usage)"),
    )
    return Message(text=clip_mrkdwn("hsperm: " + untrusted(first, 600), 300), blocks=blocks)


def _bullets(items: Sequence[str]) -> str:
    """Already-safe mrkdwn lines as a list, the first few only."""
    shown = [f"• {item}" for item in items[:_MAX_REPORT_ITEMS]]
    if len(items) > _MAX_REPORT_ITEMS:
        shown.append(f"…and {len(items) - _MAX_REPORT_ITEMS} more.")
    return "\n".join(shown)


def lookup_report_message(report: PermissionReport, *, fixes: Sequence[Block] = ()) -> Message:
    """A live lookup's answer: the verdict, the facts it rests on, then what nobody can read via the API.

    `fixes` (bot.messages.approvals.fix_blocks) go after the facts, before the footer.
    """
    icon = _VERDICT_ICONS.get(report.can_view, ":grey_question:")
    asked = [f"Live lookup of {code(report.email)}"]
    if report.ticket_id:
        asked.append(f"ticket {code(report.ticket_id, 40)}")
    if report.portal_id:
        asked.append(f"portal {code(report.portal_id, 40)}")
    blocks: list[Block] = [
        section(f"{icon} {untrusted(report.verdict or 'hsperm could not reach a verdict.', 1500)}"),
        context(" · ".join(asked)),
        DividerBlock(),
        *_user_blocks(report.user),
        *_ticket_blocks(report.ticket),
    ]
    for line in (_access_line(report), _token_line(report.token)):
        if line:
            blocks.append(section(line))
    for part in report.forensics:
        blocks.append(section(forensics_text(part)))
    if report.unknowns:
        # The link goes first: it is the one thing to act on, and survives any clipping.
        text = "*What the API cannot tell*"
        settings = _link(report.links.get("users_settings"), "Users & Teams in HubSpot")
        if settings:
            text += f" (a Super Admin sees each permission set's access levels in {settings})"
        text += "\n" + _bullets([untrusted(item, 700) for item in report.unknowns])
        blocks.append(section(text))
    if report.problems:
        lines = [
            f"*{untrusted(', '.join(p.steps or (p.step,)), 100)}*: {untrusted(p.message, 300)}" for p in report.problems
        ]
        blocks.append(section(":warning: *Some facts are missing: HubSpot calls failed*\n" + _bullets(lines)))
    if report.notes:
        blocks.append(context(" ".join(untrusted(note, 300) for note in report.notes[:_MAX_REPORT_ITEMS])))
    blocks += fixes
    blocks.append(context("hsperm · live from HubSpot's API · `/hsperm help` for everything it can do"))
    fallback = f"hsperm lookup: {untrusted(report.verdict or 'no verdict', 900)}"
    return Message(text=fallback, blocks=tuple(_fit_message(blocks[:MAX_MESSAGE_BLOCKS])))


def _fit_message(blocks: list[Block]) -> list[Block]:
    """Halve the longest text section until the message fits Slack's total size.

    Each part of a report is capped, but a portal with hundreds of teams or scopes and long
    error texts can still add up past what Slack accepts; losing detail beats losing the answer.
    """
    while sum(block_chars(block) for block in blocks) > MAX_MESSAGE_CHARS:
        long = [
            (len(block.text.text), index)
            for index, block in enumerate(blocks)
            if isinstance(block, SectionBlock) and block.text is not None and len(block.text.text) > 200
        ]
        if not long:
            break
        size, index = max(long)
        blocks[index] = section(clip_mrkdwn(blocks[index].text.text, size // 2))  # type: ignore[attr-defined]
    return blocks

