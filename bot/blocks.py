"""Block Kit for every hsperm surface, built with slack_sdk.models so Slack's limits are checked here.

Two kinds of text meet in these messages. The engine's summary and checklist are trusted mrkdwn
(links, bold, code) and pass through untouched. Anything that came from a paste (the excerpt, and
the fields the engine extracted from it) is redacted, escaped (`&`, `<`, `>` only: Slack shows
other entities literally) and clipped, so a paste can neither ping `<!channel>` nor leak a token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.lookup import PermissionReport, TicketFacts, TokenFacts, UserFacts
from bot.redact import redact
from bot.store import DiagnosisRecord
from knowledge import Diagnosis
from knowledge.secrets import rotation_advice

# Action and callback ids are a contract with the other surfaces and the tests (DESIGN §3).
ACTION_SHARE = "hsperm_share"
ACTION_LOOKUP = "hsperm_lookup"
MODAL_CALLBACK_ID = "hsperm_diagnose_modal"
MODAL_BLOCK_ID = "paste"
MODAL_ACTION_ID = "paste_input"
SHORTCUT_CALLBACK_ID = "hsperm_diagnose_message"
LOOKUP_MODAL_CALLBACK_ID = "hsperm_lookup_modal"
LOOKUP_EMAIL_BLOCK, LOOKUP_EMAIL_ACTION = "lookup_email", "email_input"
LOOKUP_TICKET_BLOCK, LOOKUP_TICKET_ACTION = "lookup_ticket", "ticket_input"
LOOKUP_PORTAL_BLOCK, LOOKUP_PORTAL_ACTION = "lookup_portal", "portal_input"
#: The sub-command's syntax, shown (escaped) in help and usage lines.
LOOKUP_USAGE = "/hsperm user <email|@user> [ticket <id|url>] [portal <id>]"
#: The setting that turns live lookups on; named in every "not configured" answer.
LOOKUP_SETTING = "HUBSPOT_ACCESS_TOKEN"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_CHARS = 3000
#: Slack also rejects messages whose blocks add up to roughly 13k characters (msg_blocks_too_long).
MAX_MESSAGE_CHARS = 11_000
#: How much of a paste is echoed back: enough to recognise it, never a wall of text.
PASTE_EXCERPT_CHARS = 700
MODAL_INPUT_MAX = 3000
HOME_RECENT_LIMIT = 15

KIND_LABELS: dict[str, tuple[str, str]] = {
    "user_permission": (":bust_in_silhouette:", "HubSpot user permission"),
    "missing_scopes": (":key:", "Missing OAuth scope"),
    "expired_token": (":hourglass:", "Expired access token"),
    "invalid_token": (":no_entry:", "Invalid or wrong kind of token"),
    "refresh_token_error": (":arrows_counterclockwise:", "Refresh token failed"),
    "oauth_install_error": (":electric_plug:", "App install or authorisation failed"),
    "rate_limit": (":snail:", "Rate limit (429)"),
    "portal_mismatch": (":globe_with_meridians:", "Wrong portal or data centre"),
    "not_found": (":mag:", "Not found: not a permission problem"),
    "validation": (":memo:", "Invalid request: not a permission problem"),
    "other_hubspot": (":warning:", "Other HubSpot error"),
    "not_hubspot": (":grey_question:", "Not a HubSpot error"),
}

SOURCE_LABELS = {
    "message": "reply in a thread",
    "mention": "reply to a mention",
    "dm": "direct message",
    "command": "/hsperm",
    "modal": "/hsperm form",
    "shortcut": "message shortcut",
}


@dataclass(frozen=True)
class Message:
    """A reply: fallback text (notifications, screen readers) plus validated blocks."""

    text: str
    blocks: tuple[Block, ...]

    def kwargs(self) -> dict[str, Any]:
        """Arguments for chat.postMessage / respond; to_dict() runs slack_sdk's limit checks."""
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}


# -- text helpers -------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters, and only those."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def untrusted(text: str, limit: int) -> str:
    """Pasted text made safe to show: redacted, escaped and at most `limit` characters long."""
    # Redact the whole paste before cutting it, so no token is ever cut into an unrecognisable half.
    raw = redact(text)
    if len(raw) <= limit and len(shown := escape(raw)) <= limit:
        return shown
    raw = raw[: limit - 1]
    shown = escape(raw) + "…"
    while len(shown) > limit:
        # Cut the raw text, not the escaped one, so no `&amp;` is ever split in half.
        raw = raw[: len(raw) - (len(shown) - limit)]
        shown = escape(raw) + "…"
    return shown


def clip_mrkdwn(text: str, limit: int) -> str:
    """Shorten trusted mrkdwn without leaving half a `<url|label>` link behind."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut.rstrip() + "…"


def _code(value: object, limit: int = 200) -> str:
    return "`" + untrusted(str(value).replace("`", "'"), limit) + "`"


def _code_block(text: str, limit: int) -> str:
    # A paste with its own ``` would close our block early.
    body = untrusted(text.replace("```", "'''"), limit - 8)
    return f"```{body}```"


def kind_label(kind: str) -> str:
    emoji, label = KIND_LABELS.get(kind, (":warning:", kind.replace("_", " ")))
    return f"{emoji} {label}"


def _plain_kind(kind: str) -> str:
    return KIND_LABELS.get(kind, ("", kind))[1]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip_mrkdwn(text, MAX_SECTION_CHARS)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip_mrkdwn(text, MAX_SECTION_CHARS))])


#: JSON around a section's text ({"type": "section", "text": {"type": "mrkdwn", "text": ...}}).
_SECTION_OVERHEAD = 64


def _block_chars(block: Block) -> int:
    return len(str(block.to_dict()))


# -- the diagnosis reply ------------------------------------------------------------------------


def fallback_text(diagnosis: Diagnosis) -> str:
    text = f"hsperm: {_plain_kind(diagnosis.kind)}"
    if diagnosis.summary:
        text += f". {diagnosis.summary}"
    if diagnosis.secrets:
        text += " This paste contains a secret: rotate it."
    return clip_mrkdwn(text, 1000)


def _facts(diagnosis: Diagnosis) -> list[str]:
    facts: list[tuple[str, object]] = [
        ("Object", diagnosis.object_type),
        ("Portal", diagnosis.portal_id),
        ("HTTP status", diagnosis.status),
        ("Category", diagnosis.category),
        ("Data centre", diagnosis.hublet),
        ("Correlation id", diagnosis.correlation_id),
    ]
    fields = [f"*{name}*\n{_code(value)}" for name, value in facts if value not in (None, "")]
    if diagnosis.requires:
        mode = "all of" if diagnosis.requires_mode == "all" else "one of"
        names = ", ".join(_code(name, 80) for name in diagnosis.requires[:12])
        fields.append(f"*Requires {mode}*\n{names}")
    return fields[:10]


def secrets_warning(kinds: Sequence[str]) -> str:
    names = ", ".join(kind.replace("_", " ") for kind in kinds)
    lines = [
        f":rotating_light: *This paste contains a secret* ({escape(names)}). Treat it as leaked: "
        "rotate it now, then delete or edit the message so it stops spreading. "
        "hsperm never shows or stores the value."
    ]
    lines += [f"• {escape(advice)}" for advice in rotation_advice(tuple(kinds))]
    return "\n".join(lines)


def diagnosis_message(
    diagnosis: Diagnosis,
    *,
    paste: str | None = None,
    share_value: str | None = None,
    lookup_available: bool = False,
    lookup_value: str | None = None,
    intro: str | None = None,
) -> Message:
    """The checklist reply used by every surface.

    `paste` is echoed (redacted, escaped, clipped) where the original is not right above the reply;
    `share_value` adds the Share button; the lookup button (user_permission only, when lookups are
    configured) carries `lookup_value`; `intro` is trusted mrkdwn shown first (e.g. who shared it).
    """
    head: list[Block] = []
    if intro:
        head.append(_context(intro))
    head.append(HeaderBlock(text=PlainTextObject(text=_plain_kind(diagnosis.kind)[:150], emoji=True)))
    summary = diagnosis.summary or "hsperm recognised this as a HubSpot error."
    if diagnosis.alternatives:
        others = ", ".join(_plain_kind(kind).lower() for kind in diagnosis.alternatives)
        summary += f"\n_Could also be: {escape(others)}._"
    head.append(_section(summary))
    fields = _facts(diagnosis)
    if fields:
        head.append(SectionBlock(fields=[MarkdownTextObject(text=field) for field in fields]))
    if diagnosis.secrets:
        head.append(_section(secrets_warning(diagnosis.secrets)))

    tail: list[Block] = []
    if paste:
        tail.append(_section("*What you pasted* (secrets masked)\n" + _code_block(paste, PASTE_EXCERPT_CHARS)))
    buttons: list[ButtonElement] = []
    if share_value:
        buttons.append(ButtonElement(text="Share in channel", action_id=ACTION_SHARE, value=share_value, style="primary"))
    if lookup_available and diagnosis.kind == "user_permission":
        buttons.append(
            ButtonElement(
                text="Check this user's access",
                action_id=ACTION_LOOKUP,
                value=lookup_value or share_value or "-",
            )
        )
    if buttons:
        tail.append(ActionsBlock(elements=buttons))
    tail.append(_context("hsperm · `/hsperm help` for everything it can do"))

    steps = _checklist_blocks(diagnosis, head, tail)
    blocks = head + steps + tail
    return Message(text=fallback_text(diagnosis), blocks=tuple(blocks))


def _checklist_blocks(diagnosis: Diagnosis, head: list[Block], tail: list[Block]) -> list[Block]:
    """As many checklist steps as fit in 50 blocks and Slack's total size, then a pointer to the rest."""
    if not diagnosis.checklist:
        return []
    room_blocks = MAX_MESSAGE_BLOCKS - len(head) - len(tail) - 2  # divider + "more" note
    room_chars = MAX_MESSAGE_CHARS - sum(_block_chars(b) for b in head + tail)
    steps: list[Block] = [DividerBlock()]
    for number, item in enumerate(diagnosis.checklist, start=1):
        text = clip_mrkdwn(f"*{number}. {item.title}*\n{item.detail}", MAX_SECTION_CHARS)
        # Counted from the text: serialising every step just to measure it doubles the CPU per reply.
        size = len(text) + _SECTION_OVERHEAD
        if len(steps) > room_blocks or size > room_chars:
            left = len(diagnosis.checklist) - number + 1
            steps.append(_context(f"…and {left} more step(s): `python -m bot diagnose` prints the whole checklist."))
            break
        room_chars -= size
        steps.append(SectionBlock(text=MarkdownTextObject(text=text)))
    return steps


def no_error_message(paste: str | None = None) -> Message:
    """Shown only where someone asked (command, shortcut, form, DM, mention); channels stay silent."""
    text = (
        ":grey_question: I couldn't find a HubSpot error in that. Paste the whole error: the HTTP status "
        "and the JSON body or the `message` line are what I read. `/hsperm help` lists everything I do."
    )
    blocks: list[Block] = [_section(text)]
    if paste and paste.strip():
        blocks.append(_context("What I read: " + _code(paste.strip().splitlines()[0], 300)))
    return Message(text="hsperm: no HubSpot error found in that text.", blocks=tuple(blocks))


def problem_message() -> Message:
    """A friendly apology instead of a stack trace; the details are in the server log."""
    text = (
        ":warning: hsperm hit a problem handling that. Please try again in a minute; if it keeps "
        "happening, tell whoever runs hsperm (the details are in its log)."
    )
    return Message(text="hsperm hit a problem; please try again.", blocks=(_section(text),))


def notice_message(text: str) -> Message:
    """One short trusted mrkdwn line (confirmations, "not enabled here")."""
    return Message(text=clip_mrkdwn(re.sub(r"[*_`]", "", text), 300), blocks=(_section(text),))


def help_message(*, lookup_available: bool) -> Message:
    usage = _lookup_usage()
    lookup = (
        f"• {usage} reads HubSpot and says whether that user can see the ticket, and why. "
        "On a user-permission checklist, *Check this user's access* does the same with the portal filled in."
        if lookup_available
        else f"• {usage} (live lookup) needs `{LOOKUP_SETTING}` set where hsperm runs; not set up here."
    )
    text = "\n".join(
        [
            "*hsperm explains HubSpot permission errors* and tells you what to change, and where.",
            "",
            "• *Paste an error* in a channel or thread I'm in (invite me with `/invite @hsperm`): "
            "I reply in the thread with a checklist. Ordinary chat is ignored.",
            "• *Mention me* (`@hsperm`) in a thread to diagnose the thread's first message.",
            "• *DM me* an error, any time.",
            "• `/hsperm <error text>` shows the checklist only to you, with a *Share in channel* button.",
            "• `/hsperm` alone opens a form for long pastes.",
            "• On any message: *⋮ More actions → Diagnose HubSpot error*.",
            lookup,
            "• `/hsperm help` shows this.",
            "",
            ":lock: If a paste contains a token, I say so (never the value) and tell you how to rotate it.",
        ]
    )
    return Message(text="hsperm help: paste a HubSpot error, or use /hsperm <error>.", blocks=(_section(text),))


# -- modal --------------------------------------------------------------------------------------


def diagnose_modal(private_metadata: str = "") -> View:
    return _modal(
        MODAL_CALLBACK_ID,
        "Diagnose HubSpot error",
        "Diagnose",
        private_metadata,
        [
            _text_input(
                MODAL_BLOCK_ID,
                MODAL_ACTION_ID,
                "Paste the error",
                "The whole response body or log line. Tokens are masked; rotate any you paste.",
                max_length=MODAL_INPUT_MAX,
                placeholder="You do not have permissions to view object type …",
                multiline=True,
            )
        ],
    )


def _modal(callback_id: str, title: str, submit: str, private_metadata: str, blocks: list[Block]) -> View:
    # Slack caps private_metadata at 3000 characters; callers keep theirs well under it.
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata[:3000],
        blocks=blocks,
    )


# -- App Home -----------------------------------------------------------------------------------


def _where(record: DiagnosisRecord) -> str:
    channel = record.channel_id or ""
    if channel.startswith(("C", "G")):
        return f"<#{channel}>"
    if channel.startswith("D"):
        return "a direct message"
    return "Slack"


def _when(epoch: float) -> str:
    seconds = int(epoch)
    return f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{seconds}>"


def home_view(recent: Sequence[DiagnosisRecord], *, lookup_available: bool) -> View:
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="hsperm: HubSpot permission errors, explained")),
        _section(
            "HubSpot errors like `requires one of [tickets-read, tickets-access]` look like missing OAuth "
            "scopes but usually mean the *HubSpot user* lacks access. hsperm reads the error and gives you "
            "the checklist for what it really is, with links into the right HubSpot settings page."
        ),
        *help_message(lookup_available=lookup_available).blocks,
        DividerBlock(),
        HeaderBlock(text=PlainTextObject(text="Recent diagnoses in this workspace")),
    ]
    if not recent:
        blocks.append(_context("None yet. Paste a HubSpot error in a channel I'm in, or try `/hsperm`."))
    for record in recent[:HOME_RECENT_LIMIT]:
        summary = clip_mrkdwn(record.diagnosis.summary, 280) if record.diagnosis.summary else ""
        line = f"*{kind_label(record.kind)}* · {_when(record.created_at)} · {_where(record)}"
        line += f" · {SOURCE_LABELS.get(record.source, record.source)}"
        if summary:
            line += f"\n{summary}"
        blocks.append(_section(line))
    return View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS])


# -- live lookup --------------------------------------------------------------------------------
#
# Everything in a PermissionReport that came from HubSpot (names, team labels, subjects, error
# messages, and the verdict built from them) is treated like a paste: `untrusted` or `_code`.

_VERDICT_ICONS = {True: ":white_check_mark:", False: ":no_entry:", None: ":grey_question:"}
_TOKEN_KINDS = {"private_app": "private app / service key", "oauth": "OAuth access token"}
_SAFE_URL = re.compile(r"https://[^\s<>|]{1,1000}")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
#: How many problems and unknowns a report shows before it says "and N more" (keeps it < 50 blocks
#: and within Slack's total message size whatever HubSpot answers).
_MAX_REPORT_ITEMS = 6


def _lookup_usage() -> str:
    return f"`{escape(LOOKUP_USAGE)}`"


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
    return Message(text=text.split(" ", 1)[1], blocks=(_section(text),))


def lookup_not_configured_message() -> Message:
    """Names the variable: the person who reads this passes it on to whoever runs hsperm."""
    text = (
        f":electric_plug: Live lookup needs a HubSpot token: whoever runs hsperm sets `{LOOKUP_SETTING}` "
        "(hsperm's private app token; `HUBSPOT_PORTAL_TOKENS` for several portals) and restarts it. "
        "Pasted errors are explained without it."
    )
    fallback = f"hsperm: live lookup needs {LOOKUP_SETTING} to be set where hsperm runs."
    return Message(text=fallback, blocks=(_section(text),))


def lookup_usage_message(problem: str) -> Message:
    """A refused `/hsperm user …`: what was wrong (the user's own words, escaped), then the syntax."""
    text = (
        f":information_source: {untrusted(problem, 500)}\n"
        f"Usage: {_lookup_usage()}, e.g. `/hsperm user ann@example.com ticket 123 portal 342871372` "
        "or `/hsperm user @Ann ticket 123`."
    )
    return Message(text=clip_mrkdwn("hsperm: " + redact(problem), 300), blocks=(_section(text),))


def lookup_failed_message(reason: str) -> Message:
    """The lookup could not start (no token for that portal, malformed id): the reason, escaped."""
    return Message(
        text=clip_mrkdwn("hsperm lookup: " + redact(reason), 300),
        blocks=(_section(f":warning: {untrusted(reason, 1500)}"),),
    )


def _user_blocks(user: UserFacts | None) -> list[Block]:
    if user is None:
        return []
    if not user.found:
        return [_section(f"*User:* no HubSpot user has the email {_code(user.email)}.")]
    if user.owner_id:
        owner = f"owner id {_code(user.owner_id, 40)}"
    else:
        owner = "no CRM owner record" if user.owner_checked else "owner id unknown"
    teams = [f"{t.label} (primary)" if t is user.primary_team else t.label for t in user.teams]
    fields = [
        f"*User*\n{untrusted(user.name or user.email, 200)}\n{_code(user.email)}",
        f"*Permission set*\n{_labels([r.label for r in user.roles])}",
        f"*Teams*\n{_labels(teams)}",
        f"*Super Admin*\n{_yes_no(user.super_admin)}",
        f"*Seats*\n{_labels(list(user.seats), 300)}",
        f"*Ids*\nuser id {_code(user.user_id or '?', 40)}, {owner}",
    ]
    return [SectionBlock(fields=[MarkdownTextObject(text=field) for field in fields])]


def _ticket_blocks(ticket: TicketFacts | None) -> list[Block]:
    if ticket is None:
        return []
    if not ticket.found:
        return [_section(f"*Ticket {_code(ticket.id, 40)}:* not found in this portal.")]
    title = _link(ticket.url, f"Ticket {ticket.id}") or f"Ticket {_code(ticket.id, 40)}"
    if ticket.owner_id:
        owner = f"{untrusted(ticket.owner_name or 'unknown name', 200)} (owner id {_code(ticket.owner_id, 40)})"
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
        f"*hsperm's token:* {untrusted(kind, 60)}, portal {_code(token.hub_id or 'unknown', 40)}; "
        f"scopes: {', '.join(_code(s, 80) for s in token.scopes[:40]) or 'none'}" + (" …" if len(token.scopes) > 40 else "")
    ]
    if token.required:
        lines.append("Required by the error: " + ", ".join(_code(r, 80) for r in token.required[:12]))
        if token.permission_names:
            names = ", ".join(_code(n, 80) for n in token.permission_names[:12])
            lines.append(f"{names}: HubSpot *user* permission names, not OAuth scopes; no token scope grants them.")
        if token.has_required is not None:
            granted = ", ".join(_code(g, 80) for g in token.granted)
            lines.append("Token has one of them: " + (f"*yes* ({granted})" if token.has_required else "*no*"))
    return "\n".join(lines)


def _bullets(items: Sequence[str]) -> str:
    """Already-safe mrkdwn lines as a list, the first few only."""
    shown = [f"• {item}" for item in items[:_MAX_REPORT_ITEMS]]
    if len(items) > _MAX_REPORT_ITEMS:
        shown.append(f"…and {len(items) - _MAX_REPORT_ITEMS} more.")
    return "\n".join(shown)


def lookup_report_message(report: PermissionReport) -> Message:
    """A live lookup's answer: the verdict, the facts it rests on, then what nobody can read via the API."""
    icon = _VERDICT_ICONS.get(report.can_view, ":grey_question:")
    asked = [f"Live lookup of {_code(report.email)}"]
    if report.ticket_id:
        asked.append(f"ticket {_code(report.ticket_id, 40)}")
    if report.portal_id:
        asked.append(f"portal {_code(report.portal_id, 40)}")
    blocks: list[Block] = [
        _section(f"{icon} {untrusted(report.verdict or 'hsperm could not reach a verdict.', 1500)}"),
        _context(" · ".join(asked)),
        DividerBlock(),
        *_user_blocks(report.user),
        *_ticket_blocks(report.ticket),
    ]
    for line in (_access_line(report), _token_line(report.token)):
        if line:
            blocks.append(_section(line))
    if report.unknowns:
        # The link goes first: it is the one thing to act on, and survives any clipping.
        text = "*What the API cannot tell*"
        settings = _link(report.links.get("users_settings"), "Users & Teams in HubSpot")
        if settings:
            text += f" (a Super Admin sees each permission set's access levels in {settings})"
        text += "\n" + _bullets([untrusted(item, 700) for item in report.unknowns])
        blocks.append(_section(text))
    if report.problems:
        lines = [
            f"*{untrusted(', '.join(p.steps or (p.step,)), 100)}*: {untrusted(p.message, 300)}" for p in report.problems
        ]
        blocks.append(_section(":warning: *Some facts are missing: HubSpot calls failed*\n" + _bullets(lines)))
    if report.notes:
        blocks.append(_context(" ".join(untrusted(note, 300) for note in report.notes[:_MAX_REPORT_ITEMS])))
    blocks.append(_context("hsperm · live from HubSpot's API · `/hsperm help` for everything it can do"))
    fallback = f"hsperm lookup: {untrusted(report.verdict or 'no verdict', 900)}"
    return Message(text=fallback, blocks=tuple(_fit_message(blocks[:MAX_MESSAGE_BLOCKS])))


def _fit_message(blocks: list[Block]) -> list[Block]:
    """Halve the longest text section until the message fits Slack's total size.

    Each part of a report is capped, but a portal with hundreds of teams or scopes and long
    error texts can still add up past what Slack accepts; losing detail beats losing the answer.
    """
    while sum(_block_chars(block) for block in blocks) > MAX_MESSAGE_CHARS:
        long = [
            (len(block.text.text), index)
            for index, block in enumerate(blocks)
            if isinstance(block, SectionBlock) and block.text is not None and len(block.text.text) > 200
        ]
        if not long:
            break
        size, index = max(long)
        blocks[index] = _section(clip_mrkdwn(blocks[index].text.text, size // 2))  # type: ignore[attr-defined]
    return blocks


def lookup_modal(
    *,
    portal_id: str | None = None,
    object_type: str | None = None,
    requires: Sequence[str] = (),
    private_metadata: str = "",
) -> View:
    """The button's form: the error's portal filled in, the person (and optionally a ticket) to add."""
    about = ["From the error:"]
    if object_type:
        about.append(f"object {_code(object_type, 80)}")
    if portal_id:
        about.append(f"in portal {_code(portal_id, 40)}")
    if requires:
        about.append("requiring one of " + ", ".join(_code(name, 80) for name in requires[:8]))
    blocks: list[Block] = []
    if len(about) > 1:
        blocks.append(_context(" ".join(about) + "."))
    blocks += [
        _text_input(
            LOOKUP_EMAIL_BLOCK,
            LOOKUP_EMAIL_ACTION,
            "The HubSpot user's email",
            "The email they log in to HubSpot with.",
            max_length=254,
            placeholder="ann@example.com",
        ),
        _text_input(
            LOOKUP_TICKET_BLOCK,
            LOOKUP_TICKET_ACTION,
            "Ticket id or URL",
            "Optional. Without it, the report describes the user's roles and teams.",
            max_length=500,
            placeholder="123 or https://app.hubspot.com/contacts/…/record/0-5/123",
            optional=True,
        ),
        _text_input(
            LOOKUP_PORTAL_BLOCK,
            LOOKUP_PORTAL_ACTION,
            "Portal (Hub ID)",
            "Leave empty for the portal of hsperm's token.",
            max_length=20,
            initial_value=portal_id,
            optional=True,
        ),
    ]
    return _modal(LOOKUP_MODAL_CALLBACK_ID, "Check a user's access", "Look up", private_metadata, blocks)


def _text_input(
    block_id: str,
    action_id: str,
    label: str,
    hint: str,
    *,
    max_length: int,
    placeholder: str | None = None,
    initial_value: str | None = None,
    optional: bool = False,
    multiline: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        hint=PlainTextObject(text=hint),
        optional=optional,
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=multiline,
            max_length=max_length,
            placeholder=PlainTextObject(text=placeholder) if placeholder else None,
            initial_value=initial_value or None,
        ),
    )
