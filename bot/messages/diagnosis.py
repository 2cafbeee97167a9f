"""The diagnosis reply (checklist) every surface posts, and the short answers around it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.facts import diagnosis_facts, requires_label
from bot.messages.ids import ACTION_LOOKUP, ACTION_SHARE
from bot.messages.mrkdwn import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_CHARS,
    PASTE_EXCERPT_CHARS,
    SECTION_OVERHEAD,
    Message,
    block_chars,
    clip_mrkdwn,
    code,
    code_block,
    context,
    escape,
    plain_kind,
    section,
)
from knowledge import Diagnosis
from knowledge.secrets import rotation_advice


def fallback_text(diagnosis: Diagnosis) -> str:
    text = f"hsperm: {plain_kind(diagnosis.kind)}"
    if diagnosis.summary:
        text += f". {diagnosis.summary}"
    if diagnosis.secrets:
        text += " This paste contains a secret: rotate it."
    return clip_mrkdwn(text, 1000)


def _facts(diagnosis: Diagnosis) -> list[str]:
    fields = [f"*{name}*\n{code(value)}" for name, value in diagnosis_facts(diagnosis)]
    if diagnosis.requires:
        names = ", ".join(code(name, 80) for name in diagnosis.requires[:12])
        fields.append(f"*{requires_label(diagnosis)}*\n{names}")
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
    head = _head(diagnosis, intro)
    tail: list[Block] = []
    if paste:
        tail.append(section("*What you pasted* (secrets masked)\n" + code_block(paste, PASTE_EXCERPT_CHARS)))
    lookup = (lookup_value or share_value or "-") if lookup_available and diagnosis.kind == "user_permission" else None
    buttons = _buttons(share_value, lookup)
    if buttons:
        tail.append(ActionsBlock(elements=buttons))
    tail.append(context("hsperm · `/hsperm help` for everything it can do"))
    blocks = head + _checklist_blocks(diagnosis, head, tail) + tail
    return Message(text=fallback_text(diagnosis), blocks=tuple(blocks))


def _head(diagnosis: Diagnosis, intro: str | None) -> list[Block]:
    """Who shared it, what kind of error, the summary, the facts, a secret warning."""
    head: list[Block] = [context(intro)] if intro else []
    head.append(HeaderBlock(text=PlainTextObject(text=plain_kind(diagnosis.kind)[:150], emoji=True)))
    summary = diagnosis.summary or "hsperm recognised this as a HubSpot error."
    if diagnosis.alternatives:
        others = ", ".join(plain_kind(kind).lower() for kind in diagnosis.alternatives)
        summary += f"\n_Could also be: {escape(others)}._"
    head.append(section(summary))
    fields = _facts(diagnosis)
    if fields:
        head.append(SectionBlock(fields=[MarkdownTextObject(text=field) for field in fields]))
    if diagnosis.secrets:
        head.append(section(secrets_warning(diagnosis.secrets)))
    return head


def _buttons(share_value: str | None, lookup_value: str | None) -> list[ButtonElement]:
    """Share (private replies only) and the lookup (user permission errors, when lookups are on)."""
    buttons: list[ButtonElement] = []
    if share_value:
        buttons.append(ButtonElement(text="Share in channel", action_id=ACTION_SHARE, value=share_value, style="primary"))
    if lookup_value is not None:
        buttons.append(ButtonElement(text="Check this user's access", action_id=ACTION_LOOKUP, value=lookup_value))
    return buttons


def _checklist_blocks(diagnosis: Diagnosis, head: list[Block], tail: list[Block]) -> list[Block]:
    """As many checklist steps as fit in 50 blocks and Slack's total size, then a pointer to the rest."""
    if not diagnosis.checklist:
        return []
    room_blocks = MAX_MESSAGE_BLOCKS - len(head) - len(tail) - 2  # divider + "more" note
    room_chars = MAX_MESSAGE_CHARS - sum(block_chars(b) for b in head + tail)
    steps: list[Block] = [DividerBlock()]
    for number, item in enumerate(diagnosis.checklist, start=1):
        text = clip_mrkdwn(f"*{number}. {item.title}*\n{item.detail}", MAX_SECTION_CHARS)
        # Counted from the text: serialising every step just to measure it doubles the CPU per reply.
        size = len(text) + SECTION_OVERHEAD
        if len(steps) > room_blocks or size > room_chars:
            left = len(diagnosis.checklist) - number + 1
            steps.append(context(f"…and {left} more step(s): `python -m bot diagnose` prints the whole checklist."))
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
    blocks: list[Block] = [section(text)]
    if paste and paste.strip():
        blocks.append(context("What I read: " + code(paste.strip().splitlines()[0], 300)))
    return Message(text="hsperm: no HubSpot error found in that text.", blocks=tuple(blocks))


def problem_message() -> Message:
    """A friendly apology instead of a stack trace; the details are in the server log."""
    text = (
        ":warning: hsperm hit a problem handling that. Please try again in a minute; if it keeps "
        "happening, tell whoever runs hsperm (the details are in its log)."
    )
    return Message(text="hsperm hit a problem; please try again.", blocks=(section(text),))


def notice_message(text: str) -> Message:
    """One short trusted mrkdwn line (confirmations, "not enabled here")."""
    return Message(text=clip_mrkdwn(re.sub(r"[*_`]", "", text), 300), blocks=(section(text),))



def busy_message() -> Message:
    """The request was acknowledged but hsperm has too much queued work to take it on now."""
    text = ":hourglass: hsperm is busy with other requests right now. Please try again in a minute."
    return Message(text="hsperm is busy; please try again in a minute.", blocks=(section(text),))
