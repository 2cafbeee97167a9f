"""Every labelled dev example (tests/corpus/*_dev.jsonl) diagnoses as a careful expert would.

Fields are checked wherever the label's value is written in the paste itself: a value that only
context outside the paste could supply (e.g. a portal id the poster mentioned elsewhere) is not
something a classifier can be held to.
"""

from __future__ import annotations

import re

import pytest

from knowledge import diagnose
from tests.corpus import load

ERRORS = load("errors_dev.jsonl")
CHATS = load("chat_dev.jsonl")


def _written_in(value: str, text: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w])", text, re.IGNORECASE) is not None


@pytest.mark.parametrize("example", ERRORS, ids=[e["id"] for e in ERRORS])
def test_error_example_kind_is_accepted(example: dict) -> None:
    result = diagnose(example["text"])
    assert result.kind in example["accept"], (result.kind, result.rule_id)


@pytest.mark.parametrize("example", ERRORS, ids=[e["id"] for e in ERRORS])
def test_error_example_fields_written_in_the_paste_are_extracted(example: dict) -> None:
    result = diagnose(example["text"])
    text = example["text"]
    if result.kind == "not_hubspot":
        assert result.to_dict()["checklist"] == []  # silent: nothing extracted to show
        return
    if example["portal_id"] and example["portal_id"] in text:
        assert result.portal_id == example["portal_id"]
    if example["object_type"] and _written_in(example["object_type"], text):
        assert (result.object_type or "").lower() == example["object_type"].lower()
    written = [name for name in example["requires"] if name in text]
    if written and result.kind not in ("not_hubspot",):
        assert list(result.requires) == written
    if example["status"] and str(example["status"]) in text:
        assert result.status == example["status"]


@pytest.mark.parametrize("example", CHATS, ids=[c["id"] for c in CHATS])
def test_chat_message_answered_only_when_it_carries_a_hubspot_error(example: dict) -> None:
    result = diagnose(example["text"])
    if example["label"] == "positive":
        assert result.kind != "not_hubspot", example["id"]
    else:
        assert result.kind == "not_hubspot", (result.kind, result.rule_id)


def test_classic_ticket_error_matches_the_contract() -> None:
    text = (
        "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
        "342871372 (requires one of [tickets-read, tickets-access]): Forbidden."
    )
    result = diagnose(text).to_dict()
    assert result["kind"] == "user_permission"
    assert result["object_type"] == "TICKET"
    assert result["portal_id"] == "342871372"
    assert result["requires"] == ["tickets-read", "tickets-access"]
    assert result["requires_mode"] == "any"
    assert "missing_scopes" in result["alternatives"]
    assert result["status"] == 403
    checklist = " ".join(item["title"] + " " + item["detail"] for item in result["checklist"])
    for needle in ("not OAuth scopes", "Team only", "Owned only", "Unassigned", "log out", "hubspot_owner_id",
                   "hubspot_team_id", "Private app", "Personal access key", "UI extension", "settings/342871372/users"):
        assert needle in checklist, needle
