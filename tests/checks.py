"""Assertions several test modules apply to a diagnosis (not data: each module brings its own pastes)."""

from __future__ import annotations

import re

from knowledge import Diagnosis

_LINK = re.compile(r"<https?://[^|>\s]+\|[^<>]+>")


def assert_well_formed_mrkdwn(result: Diagnosis) -> None:
    """Checklist items never run into each other, and `<` only ever opens a link (Slack would eat
    a bare `<token>`)."""
    for item in result.checklist:
        assert "## " not in item.detail and item.detail, (result.rule_id, item.title)
        without_links = _LINK.sub("", item.detail + result.summary)
        assert "<" not in without_links and ">" not in without_links.replace(" > ", ""), result.rule_id
