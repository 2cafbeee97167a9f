"""Block Kit builders: Slack's limits, escaping and redaction of pasted text, buttons by surface."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages.diagnosis import diagnosis_message, no_error_message
from bot.messages.help import help_message
from bot.messages.home import home_view
from bot.messages.ids import ACTION_LOOKUP, ACTION_SHARE
from bot.messages.modals import diagnose_modal
from bot.messages.mrkdwn import MAX_MESSAGE_BLOCKS, clip_mrkdwn, escape, untrusted
from bot.store import DiagnosisRecord
from knowledge import ChecklistItem, Diagnosis

PAT = "pat-eu1-0123abcd-4567-89ab-cdef-0123456789ab"


def _diagnosis(**changes) -> Diagnosis:
    base = {
        "kind": "user_permission",
        "summary": "The HubSpot *user* lacks ticket access.",
        "object_type": "TICKET",
        "portal_id": "342871372",
        "requires": ("tickets-read", "tickets-access"),
        "status": 403,
        "checklist": (ChecklistItem("Open *Users & Teams*", "<https://app.hubspot.com/settings|Settings> > Users"),),
    }
    base.update(changes)
    return Diagnosis(**base)


def _all_text(message) -> str:
    return json.dumps(message.kwargs())


def test_trusted_mrkdwn_passes_through_and_pasted_text_is_escaped():
    message = diagnosis_message(_diagnosis(), paste="<!channel> look: a < b && c > d")
    text = _all_text(message)
    assert "<https://app.hubspot.com/settings|Settings>" in text  # engine links stay links
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; look: a &lt; b &amp;&amp; c &gt; d" in text
    assert "&#39;" not in escape('it\'s "quoted"')  # only & < > are entities in Slack


def test_fields_extracted_from_a_paste_are_escaped_too():
    message = diagnosis_message(_diagnosis(object_type="<@U123>", portal_id="1`2"))
    text = _all_text(message)
    assert "<@U123>" not in text and "&lt;@U123&gt;" in text


def test_a_token_in_the_paste_is_masked_and_rotation_is_advised():
    message = diagnosis_message(_diagnosis(secrets=("hubspot_private_app_token",)), paste=f"Bearer {PAT} failed")
    text = _all_text(message)
    assert PAT not in text
    assert "REDACTED" in text
    assert "contains a secret" in text and "rotate" in text.lower()
    assert "secret" in message.text  # the notification says so too


def test_a_huge_checklist_stays_within_slack_limits():
    steps = tuple(ChecklistItem(f"Step {n}", "x" * 2500) for n in range(80))
    message = diagnosis_message(_diagnosis(checklist=steps), paste="y" * 50_000, share_value="abc")
    payload = message.kwargs()  # to_dict() validates each block's own limits
    assert len(payload["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert len(json.dumps(payload["blocks"])) < 13_000
    assert "more step" in json.dumps(payload)
    assert payload["text"]


def test_a_single_oversized_step_is_clipped_to_3000_characters():
    steps = (ChecklistItem("Long", "z" * 9000),)
    payload = diagnosis_message(_diagnosis(checklist=steps)).kwargs()
    assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in payload["blocks"])


def test_buttons_depend_on_the_surface_and_the_lookup_service():
    def action_ids(message):
        return [e["action_id"] for b in message.kwargs()["blocks"] for e in b.get("elements") or [] if "action_id" in e]

    assert action_ids(diagnosis_message(_diagnosis())) == []
    assert action_ids(diagnosis_message(_diagnosis(), share_value="r1")) == [ACTION_SHARE]
    lookup = diagnosis_message(_diagnosis(), share_value="r1", lookup_available=True, lookup_value="r1")
    assert action_ids(lookup) == [ACTION_SHARE, ACTION_LOOKUP]
    # the lookup only makes sense for a user's permissions
    assert action_ids(diagnosis_message(_diagnosis(kind="missing_scopes"), lookup_available=True)) == []


def test_clip_mrkdwn_never_leaves_half_a_link():
    text = "see " + "<https://example.com/" + "a" * 100 + "|the docs>"
    clipped = clip_mrkdwn(text, 50)
    assert clipped.endswith("…") and "<" not in clipped


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), st.integers(min_value=10, max_value=3000))
def test_untrusted_text_is_always_within_its_limit_and_never_contains_a_raw_angle_bracket(text, limit):
    shown = untrusted(text, limit)
    assert len(shown) <= limit
    assert "<" not in shown and ">" not in shown


def test_no_error_message_has_fallback_text_and_escapes_the_excerpt():
    message = no_error_message("<script>alert(1)</script>")
    assert message.text
    assert "<script>" not in _all_text(message)


def test_help_mentions_every_surface():
    text = _all_text(help_message(lookup_available=False))
    for surface in ("/hsperm", "/hsperm help", "Diagnose HubSpot error", "DM me", "Mention me"):
        assert surface in text


def test_modal_and_home_are_valid_views():
    modal = diagnose_modal('{"channel": "C1"}').to_dict()
    assert modal["type"] == "modal" and modal["submit"]["text"] == "Diagnose"
    record = DiagnosisRecord(
        id="r1",
        team_id="T1",
        user_id="U1",
        channel_id="C0HELP",
        message_ts="1.1",
        thread_ts="1.1",
        source="message",
        kind="user_permission",
        diagnosis=_diagnosis(),
        public=True,
        created_at=1764300000.0,
    )
    home = home_view([record] * 40, lookup_available=False).to_dict()
    assert home["type"] == "home"
    assert len(home["blocks"]) <= 100
    text = json.dumps(home)
    assert "<#C0HELP>" in text and "<!date^1764300000^" in text
    empty = json.dumps(home_view([], lookup_available=False).to_dict())
    assert "None yet" in empty
