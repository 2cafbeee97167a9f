"""HubSpot writes (PUT user, PATCH ticket) against the fake, and FixService's use of them."""

from __future__ import annotations

import time

import pytest

from bot.approvals import FixService, Proposal, propose
from bot.hubspot import HubSpotError, HubSpotScopeError, HubSpotUnavailable
from bot.lookup import LookupService
from bot.store import open_store
from tests.fakes.hubspot import ANN_OWNER, ANN_USER, EAST, PORTAL, TOKEN, WEST, WRITE_SCOPES


@pytest.fixture
def writable(fake_hubspot):
    record = fake_hubspot.tokens[TOKEN]
    record.scopes = (*record.scopes, *WRITE_SCOPES)
    return fake_hubspot


def test_put_user_changes_only_the_fields_sent(hubspot_client, writable):
    user = hubspot_client.update_user(ANN_USER, {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}, PORTAL)
    assert user.secondary_team_ids == (WEST,) and user.primary_team_id == EAST
    assert user.role_ids == ("1234",)  # untouched
    [call] = writable.writes()
    assert call.method == "PUT" and call.body == {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}
    assert hubspot_client.get_user(ANN_USER, PORTAL).team_ids == (EAST, WEST)


def test_writes_need_their_scopes_and_say_which(hubspot_client, fake_hubspot):
    with pytest.raises(HubSpotScopeError) as info:
        hubspot_client.update_user(ANN_USER, {"secondaryTeamIds": [WEST]}, PORTAL)
    assert "settings.users.write" in str(info.value)
    fake_hubspot.tokens[TOKEN].scopes = (*fake_hubspot.tokens[TOKEN].scopes, "settings.users.write")
    with pytest.raises(HubSpotScopeError) as info:
        hubspot_client.update_user(ANN_USER, {"roleId": "5678"}, PORTAL)  # Sales Manager has a paid seat
    assert "settings.billing.write" in str(info.value)


def test_a_write_is_not_repeated_after_a_server_error_but_is_after_a_429(hubspot_client, writable, hubspot_sleeps):
    writable.fault("/settings/v3/users/", status=500, method="PUT", times=1)
    with pytest.raises(HubSpotUnavailable):
        hubspot_client.update_user(ANN_USER, {"secondaryTeamIds": [WEST]}, PORTAL)
    assert len(writable.writes()) == 1 and hubspot_sleeps == []
    writable.fault("/settings/v3/users/", status=429, method="PUT", times=1, headers={"Retry-After": "1"})
    hubspot_client.update_user(ANN_USER, {"secondaryTeamIds": [WEST]}, PORTAL)
    assert len(writable.writes()) == 3 and hubspot_sleeps == [1.0]  # HubSpot said it did not process it


def test_patch_ticket(hubspot_client, writable):
    ticket = hubspot_client.update_ticket("123", {"hubspot_owner_id": ANN_OWNER}, PORTAL)
    assert ticket.owner_id == ANN_OWNER
    with pytest.raises(HubSpotError) as info:
        hubspot_client.update_ticket("123", {"hubspot_owenr_id": ANN_OWNER}, PORTAL)
    assert info.value.status == 400 and "hubspot_owenr_id" in str(info.value)


@pytest.fixture
def fixes(hubspot_client, database_url):
    store = open_store(database_url)
    yield FixService(store, hubspot_client, ttl_hours=1)
    store.close()


def _team_proposal(hubspot_client) -> Proposal:
    with LookupService(hubspot_client) as lookup:
        report = lookup.lookup("ann@example.com", ticket_id="123", portal_id=PORTAL)
        return propose(report, roles=lookup.roles(PORTAL), token_scopes=WRITE_SCOPES)[0]


def test_a_token_without_the_write_scope_fails_before_writing(fixes, hubspot_client, fake_hubspot):
    proposal = _team_proposal(hubspot_client)
    record = fixes.request(team_id="T1", requester_id="U0ALICE", proposal=proposal)
    assert fixes.decide(record, "U0BOB", "approve").ok
    outcome = fixes.apply(record.id)
    assert not outcome.ok and outcome.request.state == "failed"
    assert "`settings.users.write`" in outcome.message
    assert fake_hubspot.writes() == []


def test_reconcile_leaves_a_write_in_flight_alone(fixes, hubspot_client, writable):
    """Another instance may be writing right now: only rows older than the grace period are settled."""
    proposal = _team_proposal(hubspot_client)
    record = fixes.request(team_id="T1", requester_id="U0ALICE", proposal=proposal)
    fixes.store.transition_fix(record.id, ("pending",), "approved")
    fixes.store.transition_fix(record.id, ("approved",), "applying", intent_json={}, intent_at=time.time())
    assert fixes.reconcile() == []
    assert fixes.store.get_fix_request(record.id).state == "applying"
    outcomes = fixes.reconcile(now=time.time() + fixes.grace_seconds + 1)
    assert [o.request.state for o in outcomes] == ["failed"]
    assert writable.writes() == []
