"""App Home: what hsperm does, how to use it, and the latest diagnoses in the workspace."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, PlainTextObject
from slack_sdk.models.views import View

from bot.messages.help import help_message
from bot.messages.mrkdwn import MAX_VIEW_BLOCKS, clip_mrkdwn, context, kind_label, section
from bot.store import DiagnosisRecord

HOME_RECENT_LIMIT = 15

SOURCE_LABELS = {
    "message": "reply in a thread",
    "mention": "reply to a mention",
    "dm": "direct message",
    "command": "/hsperm",
    "modal": "/hsperm form",
    "shortcut": "message shortcut",
}


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


def home_view(recent: Sequence[DiagnosisRecord], *, lookup_available: bool, approver_blocks: Sequence[Block] = ()) -> View:
    """How to use hsperm, then (approvers only: `approver_blocks`) what waits for them, then history."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="hsperm: HubSpot permission errors, explained")),
        section(
            "HubSpot errors like `requires one of [tickets-read, tickets-access]` look like missing OAuth "
            "scopes but usually mean the *HubSpot user* lacks access. hsperm reads the error and gives you "
            "the checklist for what it really is, with links into the right HubSpot settings page."
        ),
        *help_message(lookup_available=lookup_available).blocks,
        *approver_blocks,
        DividerBlock(),
        HeaderBlock(text=PlainTextObject(text="Recent diagnoses in this workspace")),
    ]
    if not recent:
        blocks.append(context("None yet. Paste a HubSpot error in a channel I'm in, or try `/hsperm`."))
    for record in recent[:HOME_RECENT_LIMIT]:
        summary = clip_mrkdwn(record.diagnosis.summary, 280) if record.diagnosis.summary else ""
        line = f"*{kind_label(record.kind)}* · {_when(record.created_at)} · {_where(record)}"
        line += f" · {SOURCE_LABELS.get(record.source, record.source)}"
        if summary:
            line += f"\n{summary}"
        blocks.append(section(line))
    return View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS])
