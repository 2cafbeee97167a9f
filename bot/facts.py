"""The facts a diagnosis shows, in one order with one wording, for every surface.

Slack (`bot.messages.diagnosis`) and the terminal (`bot.render`) format them differently but
must never disagree about what is shown or what it is called.
"""

from __future__ import annotations

from knowledge import Diagnosis

#: (label, Diagnosis attribute), in the order people read them.
FACT_FIELDS: tuple[tuple[str, str], ...] = (
    ("Object", "object_type"),
    ("Portal", "portal_id"),
    ("HTTP status", "status"),
    ("Category", "category"),
    ("Data centre", "hublet"),
    ("Correlation id", "correlation_id"),
)


def diagnosis_facts(diagnosis: Diagnosis) -> list[tuple[str, object]]:
    """(label, value) for each fact the error actually gave; empty ones are left out."""
    facts = [(label, getattr(diagnosis, name)) for label, name in FACT_FIELDS]
    return [(label, value) for label, value in facts if value not in (None, "")]


def requires_label(diagnosis: Diagnosis) -> str:
    """"Requires all of" or "Requires one of": HubSpot's `requires_mode` in words."""
    return "Requires all of" if diagnosis.requires_mode == "all" else "Requires one of"
