"""`decide(facts) -> Verdict` on hand-made facts: no HubSpot, and the report is never changed."""

from __future__ import annotations

import copy
from dataclasses import replace

from bot.lookup import AccessFacts, NamedRef, PermissionReport, TicketFacts, UserFacts, decide

ANN = UserFacts(
    email="ann@example.com", found=True, user_id="1", name="Ann Lee", first_name="Ann",
    super_admin=False, primary_team=NamedRef("10", "East"), owner_id="100",
)
BOBS_TICKET = TicketFacts(
    id="123", found=True, owner_id="200", owner_name="Bob Stone", team=NamedRef("20", "West"),
)


def _facts(**changes) -> PermissionReport:
    base = {"email": "ann@example.com", "portal_id": "342871372", "ticket_id": "123", "user": ANN, "ticket": BOBS_TICKET}
    return PermissionReport(**{**base, **changes})


def test_no_shared_team_names_the_access_level_that_would_explain_it_and_leaves_the_report_alone():
    facts = _facts()
    before = copy.deepcopy(facts)
    verdict = decide(facts)
    assert verdict.basis == "no_team_match" and verdict.can_view is None
    assert "only if Ann's ticket access is 'All'" in verdict.text and "team West" in verdict.text
    assert any("API does not expose them" in u for u in verdict.unknowns)
    assert facts == before


def test_hubspots_own_answer_wins_over_what_teams_imply():
    facts = _facts(user=replace(ANN, primary_team=NamedRef("20", "West")),
                   access=AccessFacts(True, can_view=False, can_edit=False))
    verdict = decide(facts)
    assert (verdict.basis, verdict.can_view) == ("permitted_users", False)
    assert "probably 'Owned only'" in verdict.text


def test_a_super_admin_sees_every_ticket_and_no_access_level_is_unknown():
    verdict = decide(_facts(user=replace(ANN, super_admin=True)))
    assert (verdict.basis, verdict.can_view) == ("super_admin", True)
    assert verdict.unknowns == ()
