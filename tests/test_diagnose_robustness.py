"""diagnose() on hostile and arbitrary input: never raises, always honours the JSON contract,
never prints a secret back."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge import KINDS, diagnose
from knowledge.secrets import secret_patterns
from tests.checks import assert_well_formed_mrkdwn
from tests.corpus import load
from tests.strategies import pastes

CONTRACT_KEYS = [
    "kind", "summary", "alternatives", "object_type", "portal_id", "requires", "requires_mode", "status",
    "category", "correlation_id", "hublet", "secrets", "checklist",
]
SECRET_KINDS = {p.kind for p in secret_patterns()}


def assert_contract(result: dict) -> None:
    assert list(result) == CONTRACT_KEYS
    assert result["kind"] in KINDS
    assert isinstance(result["summary"], str) and result["summary"]
    assert set(result["alternatives"]) <= set(KINDS) and result["kind"] not in result["alternatives"]
    for key in ("object_type", "portal_id", "category", "correlation_id", "hublet"):
        assert result[key] is None or (isinstance(result[key], str) and result[key])
    assert result["portal_id"] is None or result["portal_id"].isdigit()
    assert all(isinstance(name, str) and name for name in result["requires"])
    assert result["requires_mode"] in ("any", "all")
    assert result["status"] is None or (isinstance(result["status"], int) and 200 <= result["status"] <= 599)
    assert set(result["secrets"]) <= SECRET_KINDS
    for item in result["checklist"]:
        assert set(item) == {"title", "detail"} and item["title"]
    if result["kind"] == "not_hubspot":
        assert result["checklist"] == []
    else:
        assert result["checklist"]
    json.dumps(result)  # serialisable as is


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pastes)
def test_any_paste_gives_a_valid_diagnosis(text: str) -> None:
    assert_contract(diagnose(text).to_dict())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_unicode_gives_a_valid_diagnosis(text: str) -> None:
    assert_contract(diagnose(text).to_dict())


HOSTILE = [
    "a" * 65536,
    "requires one of [" * 4000,
    "[" * 60000,
    "\\" * 60000,
    "\\\"" * 30000,
    "&lt;" * 16000,
    "<https://x|" * 6000,
    "hubspot " * 8000,
    "expired 9" * 7000,
    "`" * 60000,
    "{\"status\":\"error\"," * 3500,
    "correlationId " + "status: error, " * 4000,
    "Hub 1 is unknown to this Hublet " * 2000,
    "\x00\x01\x02" * 20000,
    "“" * 40000,
    "pat-na1-" * 8000,
    "You do not have permissions to view object type " * 1300,
]


def test_hostile_inputs_give_valid_diagnoses() -> None:
    for text in HOSTILE:
        assert_contract(diagnose(text).to_dict())


def test_input_beyond_64_kb_is_not_read() -> None:
    padding = "x" * (64 * 1024)
    late_error = padding + " You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET}"
    assert diagnose(late_error).kind == "not_hubspot"
    assert diagnose(late_error[len(padding) :]).kind == "user_permission"


def test_non_string_input_is_tolerated() -> None:
    assert diagnose(None).kind == "not_hubspot"  # type: ignore[arg-type]
    assert diagnose(b"bytes").kind == "not_hubspot"  # type: ignore[arg-type]


def test_checklists_are_well_formed_slack_mrkdwn() -> None:
    """Every labelled dev example; the family cases check the same in tests/test_families.py."""
    texts = [e["text"] for e in load("errors_dev.jsonl") + load("chat_dev.jsonl")]
    for result in (d for d in map(diagnose, texts) if d.is_hubspot):
        assert_well_formed_mrkdwn(result)


def test_reused_checklists_carry_each_pastes_own_ids() -> None:
    """The same error shape from two portals: the second answer names its own portal and ids."""
    template = ('{"status":"error","message":"You do not have permissions to view object type '
                'ObjectTypeId{legacyObjectType=TICKET} in portal PORTAL (requires one of [tickets-read])",'
                '"correlationId":"CORR"}')
    first = template.replace("PORTAL", "1111111").replace("CORR", "11111111-1111-4111-8111-111111111111")
    second = template.replace("PORTAL", "2222222").replace("CORR", "22222222-2222-4222-8222-222222222222")
    diagnose(first)
    text = json.dumps(diagnose(second).to_dict())
    assert "settings/2222222/users" in text and "1111111" not in text and "\\u0000" not in text
