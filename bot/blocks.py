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
    lookup = (
        "• `/hsperm user <email|@user> [ticket <id>] [portal <id>]` checks a HubSpot user's live access."
        if lookup_available
        else "• `/hsperm user <email>` (live lookup) needs HubSpot credentials; not set up in this workspace."
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
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK_ID,
        title=PlainTextObject(text="Diagnose HubSpot error"),
        submit=PlainTextObject(text="Diagnose"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata[:3000],
        blocks=[
            InputBlock(
                block_id=MODAL_BLOCK_ID,
                label=PlainTextObject(text="Paste the error"),
                hint=PlainTextObject(text="The whole response body or log line. Tokens are masked; rotate any you paste."),
                element=PlainTextInputElement(
                    action_id=MODAL_ACTION_ID,
                    multiline=True,
                    max_length=MODAL_INPUT_MAX,
                    placeholder=PlainTextObject(text="You do not have permissions to view object type …"),
                ),
            )
        ],
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
