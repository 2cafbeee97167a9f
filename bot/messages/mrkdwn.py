"""The building blocks of every hsperm message: limits, escaping, and small Block Kit helpers.

Two kinds of text meet in these messages. The engine's summary and checklist are trusted mrkdwn
(links, bold, code) and pass through untouched. Anything that came from a paste or from HubSpot
is redacted, escaped (`&`, `<`, `>` only: Slack shows other entities literally) and clipped with
`untrusted` or `code`, so it can neither ping `<!channel>` nor leak a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.redact import redact

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_CHARS = 3000
#: Slack also rejects messages whose blocks add up to roughly 13k characters (msg_blocks_too_long).
MAX_MESSAGE_CHARS = 11_000
#: How much of a paste is echoed back: enough to recognise it, never a wall of text.
PASTE_EXCERPT_CHARS = 700
MODAL_INPUT_MAX = 3000

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
@dataclass(frozen=True)
class Message:
    """A reply: fallback text (notifications, screen readers) plus validated blocks."""

    text: str
    blocks: tuple[Block, ...]

    def kwargs(self) -> dict[str, Any]:
        """Arguments for chat.postMessage / respond; to_dict() runs slack_sdk's limit checks."""
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}




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


def code(value: object, limit: int = 200) -> str:
    return "`" + untrusted(str(value).replace("`", "'"), limit) + "`"


def code_block(text: str, limit: int) -> str:
    # A paste with its own ``` would close our block early.
    body = untrusted(text.replace("```", "'''"), limit - 8)
    return f"```{body}```"


def kind_label(kind: str) -> str:
    emoji, label = KIND_LABELS.get(kind, (":warning:", kind.replace("_", " ")))
    return f"{emoji} {label}"


def plain_kind(kind: str) -> str:
    return KIND_LABELS.get(kind, ("", kind))[1]


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip_mrkdwn(text, MAX_SECTION_CHARS)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip_mrkdwn(text, MAX_SECTION_CHARS))])


#: JSON around a section's text ({"type": "section", "text": {"type": "mrkdwn", "text": ...}}).
SECTION_OVERHEAD = 64


def block_chars(block: Block) -> int:
    return len(str(block.to_dict()))

