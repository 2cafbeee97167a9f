"""`/hsperm help`, also the top of App Home: everything hsperm does, in one message."""

from __future__ import annotations

from bot.messages.ids import LOOKUP_SETTING, LOOKUP_USAGE
from bot.messages.mrkdwn import Message, escape, section


def lookup_usage() -> str:
    return f"`{escape(LOOKUP_USAGE)}`"


def help_message(*, lookup_available: bool) -> Message:
    usage = lookup_usage()
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
            "• A lookup report offers *fixes*: one click sends the request to the approvers, who apply it "
            "with one more click; you hear the outcome. Approvers: `/hsperm pending`, `/hsperm audit [N]`.",
            "• `/hsperm help` shows this.",
            "",
            ":lock: If a paste contains a token, I say so (never the value) and tell you how to rotate it.",
        ]
    )
    return Message(text="hsperm help: paste a HubSpot error, or use /hsperm <error>.", blocks=(section(text),))

