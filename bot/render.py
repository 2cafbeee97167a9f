"""Plain-text rendering of a diagnosis for terminals (the CLI); Slack gets Block Kit from bot.messages."""

from __future__ import annotations

import re
import textwrap

from bot.facts import diagnosis_facts, requires_label
from knowledge import Diagnosis

_LINK = re.compile(r"<(https?://[^|>\s]{1,2000})\|([^>]{1,300})>")
_BARE_LINK = re.compile(r"<(https?://[^|>\s]{1,2000})>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]{1,300})\*(?![\w*])")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn -> terminal text: links become `label (url)`, bold loses its stars."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_text(diagnosis: Diagnosis, width: int = 100) -> str:
    lines = [f"hsperm diagnosis: {diagnosis.kind}"]
    if diagnosis.alternatives:
        lines[0] += f"  (could also be: {', '.join(diagnosis.alternatives)})"
    if diagnosis.summary:
        lines.append(mrkdwn_to_text(diagnosis.summary))
    shown = [f"{name}: {value}" for name, value in diagnosis_facts(diagnosis)]
    if diagnosis.requires:
        shown.append(f"{requires_label(diagnosis)}: {', '.join(diagnosis.requires)}")
    if diagnosis.secrets:
        shown.append(f"Secrets in the paste: {', '.join(diagnosis.secrets)} (rotate them)")
    if shown:
        lines.append("")
        lines.extend(f"  {item}" for item in shown)
    if diagnosis.checklist:
        lines.append("")
        lines.append("Checklist:")
        for number, item in enumerate(diagnosis.checklist, start=1):
            lines.append(f"{number:>2}. {mrkdwn_to_text(item.title)}")
            for paragraph in mrkdwn_to_text(item.detail).split("\n"):
                wrapped = textwrap.wrap(paragraph, width=width - 4) or [""]
                lines.extend(f"    {part}" for part in wrapped)
    return "\n".join(lines).rstrip()
