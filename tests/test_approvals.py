"""Fix proposals from a real lookup (fake HubSpot on 127.0.0.1), write plans, and the policies."""

from __future__ import annotations

import pytest

from bot.approvals import (
    KIND_MANUAL,
    KIND_REASSIGN,
    KIND_ROLE,
    KIND_TEAM,
    Proposal,
    change_visible,
    missing_scope,
    plan_write,
    propose,
    with_role,
)
from bot.config import invalid_lookup_ids
from bot.hubspot import HubSpotUser, Role, Ticket
from bot.lookup import LookupService
from bot.policy import ApproverPolicy, GroupMembers, LookupPolicy
from tests.fakes.hubspot import ANN_OWNER, ANN_USER, BOB_OWNER, EAST, PORTAL, WEST

WRITE_SCOPES = ("settings.users.read", "settings.users.write", "tickets", "crm.objects.owners.read")


@pytest.fixture
def lookup(hubspot_client):
    with LookupService(hubspot_client) as service:
        yield service


def _proposals(lookup, hubspot_client, email="ann@example.com", ticket="123", scopes=WRITE_SCOPES, **kw):
    report = lookup.lookup(email, ticket_id=ticket, portal_id=PORTAL)
    return report, propose(report, roles=hubspot_client.list_roles(PORTAL), token_scopes=scopes, **kw)


def test_ann_gets_the_smallest_fix_first(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client)
    kinds = [p.kind for p in proposals]
    assert kinds == [KIND_TEAM, KIND_REASSIGN, KIND_ROLE, KIND_MANUAL]
    team = proposals[0]
    assert team.preferred and not any(p.preferred for p in proposals[1:])  # reassigning is never preferred
    assert team.title == "Add Ann to team West (secondary)"
    assert team.params["team_id"] == WEST
    assert team.change_lines() == ["Secondary teams: none -> West"]
    assert "'Team only'" in team.summary and "'Owned only' it will still say no" in team.confirm_note
    assert team.can_apply and team.missing_scope is None
    assert (team.user_id, team.portal_id, team.ticket_id) == (ANN_USER, PORTAL, "123")
    assert all(len(p.title) <= 75 for p in proposals)


def test_reassigning_says_it_changes_business_data(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client)
    reassign = next(p for p in proposals if p.kind == KIND_REASSIGN)
    assert reassign.params["owner_id"] == ANN_OWNER  # the owner id, not the user id
    assert reassign.params["team_id"] == EAST
    assert "Ticket owner: Bob Stone -> Ann Lee" in reassign.change_lines()
    assert "business data" in reassign.summary
    assert reassign.scopes == (("tickets",),)


def test_a_missing_write_scope_is_named_instead_of_failing_later(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client, scopes=("settings.users.read", "crm.objects.owners.read"))
    by_kind = {p.kind: p for p in proposals}
    assert by_kind[KIND_TEAM].missing_scope == "settings.users.write"
    assert by_kind[KIND_REASSIGN].missing_scope == "tickets"
    assert not by_kind[KIND_TEAM].can_apply


def test_role_proposal_warns_about_one_role_id_and_billing(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client)
    role = next(p for p in proposals if p.kind == KIND_ROLE)
    # The only other set in the portal has a paid seat: suggested, with the billing scope it needs.
    assert role.params["role_id"] == "5678" and role.missing_scope == "settings.billing.write"
    assert any("keeps one permission set" in w for w in role.warnings)
    assert not role.needs_confirmation  # Ann has one role
    paid = with_role(role, Role("5678", "Sales Manager", True), ("settings.users.write",))
    assert paid.missing_scope == "settings.billing.write"
    assert paid.after == {"role": "Sales Manager"}
    assert any("settings.billing.write" in w for w in paid.warnings)
    assert with_role(role, Role("5678", "Sales Manager", True), (*WRITE_SCOPES, "settings.billing.write")).can_apply


def test_a_user_with_several_roles_must_be_confirmed(lookup, hubspot_client, fake_hubspot):
    fake_hubspot.portal(PORTAL).users[ANN_USER]["roleIds"] = ["1234", "5678"]
    _, proposals = _proposals(lookup, hubspot_client)
    role = next(p for p in proposals if p.kind == KIND_ROLE)
    assert role.needs_confirmation
    assert any("drops the others" in w for w in role.warnings)


def test_nothing_to_fix_when_she_can_already_view(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client, ticket="124")
    assert proposals == []


def test_on_the_team_already_means_the_access_level_is_the_problem(lookup, hubspot_client, fake_hubspot):
    fake_hubspot.portal(PORTAL).users[ANN_USER]["secondaryTeamIds"] = [WEST]
    _, proposals = _proposals(lookup, hubspot_client)
    assert KIND_TEAM not in [p.kind for p in proposals]
    manual = proposals[-1]
    assert manual.manual == "access_levels"
    assert "already on the ticket's team" in manual.summary
    assert any("*Tickets*" in step for step in manual.steps)
    assert manual.link == f"https://app.hubspot.com/settings/{PORTAL}/users"
    assert manual.confirms is False and not manual.applies_by_api


def test_install_errors_become_manual_tasks(lookup, hubspot_client):
    report = lookup.lookup("ann@example.com", portal_id=PORTAL)
    tasks = propose(report, diagnosis_kind="oauth_install_error")
    assert [p.manual for p in tasks] == ["marketplace_access", "super_admin"]
    assert "App Marketplace Access" in tasks[0].steps[0]


def test_proposals_survive_the_store_round_trip(lookup, hubspot_client):
    _, proposals = _proposals(lookup, hubspot_client)
    for proposal in proposals:
        assert Proposal.from_dict(proposal.to_dict()) == proposal


def test_adding_a_team_keeps_existing_secondary_teams():
    proposal = Proposal(key="t", kind=KIND_TEAM, title="", summary="", portal_id=PORTAL, user_id="9", email="a@b.c",
                        name="A", params={"team_id": WEST})  # fmt: skip
    user = HubSpotUser(id="9", email="a@b.c", role_id="1", role_ids=("1", "2"), primary_team_id=EAST,
                       secondary_team_ids=("300",))  # fmt: skip
    write = plan_write(proposal, user)
    assert (write.method, write.path) == ("PUT", "/settings/v3/users/9")
    assert write.body == {"secondaryTeamIds": ["300", WEST], "primaryTeamId": EAST}
    assert "roleId" not in write.body  # a team change must not touch (and drop) roles
    assert not change_visible(proposal, user)
    assert change_visible(proposal, HubSpotUser(id="9", email="a@b.c", secondary_team_ids=("300", WEST)))


def test_reassigning_patches_owner_and_team_only():
    params = {"owner_id": ANN_OWNER, "team_id": EAST}
    proposal = Proposal(key="r", kind=KIND_REASSIGN, title="", summary="", portal_id=PORTAL, user_id="9",
                        email="a@b.c", name="A", ticket_id="123", params=params)  # fmt: skip
    ticket = Ticket("123", {"hubspot_owner_id": BOB_OWNER, "hubspot_team_id": WEST, "subject": "x"})
    write = plan_write(proposal, ticket)
    assert (write.method, write.path) == ("PATCH", "/crm/v3/objects/tickets/123")
    assert write.body == {"properties": {"hubspot_owner_id": ANN_OWNER, "hubspot_team_id": EAST}}
    assert write.before == {"hubspot_owner_id": BOB_OWNER, "hubspot_team_id": WEST}


def test_missing_scope_takes_any_one_of_each_group():
    groups = (("settings.users.write", "crm.objects.users.write"), ("settings.billing.write",))
    assert missing_scope(groups, ("crm.objects.users.write", "settings.billing.write")) is None
    assert missing_scope(groups, ("crm.objects.users.write",)) == "settings.billing.write"
    assert missing_scope(groups, None) is None


# -- policies -----------------------------------------------------------------------------------


class Groups:
    def __init__(self, members):
        self.members = members
        self.calls = 0

    def __call__(self, group):
        self.calls += 1
        if group not in self.members:
            raise RuntimeError("no_such_subteam")
        return self.members[group]


def test_approvers_are_users_and_group_members_but_never_the_requester():
    fetch = Groups({"S0ADMINS": ["U0CAROL"]})
    policy = ApproverPolicy(("U0BOB", "S0ADMINS", "S0GONE"), GroupMembers(fetch))
    assert policy.may_decide("U0BOB", "U0ALICE").allowed
    assert policy.may_decide("U0CAROL", "U0ALICE").allowed
    stranger = policy.may_decide("U0EVE", "U0ALICE")
    assert not stranger.allowed and "HSPERM_APPROVERS" in stranger.reason
    own = policy.may_decide("U0BOB", "U0BOB")
    assert not own.allowed and "another approver" in own.reason
    assert not ApproverPolicy((), GroupMembers(fetch)).may_decide("U0BOB", "U0ALICE").allowed


def test_group_members_are_cached_briefly_and_failures_are_not():
    now = [0.0]
    fetch = Groups({"S0ADMINS": ["U0CAROL"]})
    groups = GroupMembers(fetch, ttl=60, clock=lambda: now[0])
    assert groups.contains("S0ADMINS", "U0CAROL")
    assert groups.contains("S0ADMINS", "U0CAROL")
    assert fetch.calls == 1
    now[0] = 61
    fetch.members["S0ADMINS"] = []
    assert not groups.contains("S0ADMINS", "U0CAROL")  # removed from the group: refused after the cache
    assert not groups.contains("S0GONE", "U0CAROL") and not groups.contains("S0GONE", "U0CAROL")
    assert fetch.calls == 4


def test_lookup_policy_default_is_this_workspace_only():
    policy = LookupPolicy((), GroupMembers(Groups({})))
    assert policy.check(user_id="U1", user_team_id="T1", home_team_id="T1").allowed
    foreign = policy.check(user_id="U9", user_team_id="T9", home_team_id="T1")
    assert not foreign.allowed and "checklist" in foreign.reason


def test_lookup_policy_lists_users_groups_and_channels():
    approvers = ApproverPolicy(("U0BOB",), GroupMembers(Groups({})))
    policy = LookupPolicy(("U1", "S0SUPPORT", "C0HELP"), GroupMembers(Groups({"S0SUPPORT": ["U2"]})), approvers)
    check = policy.check
    assert check(user_id="U1", user_team_id="T1", home_team_id="T1").allowed
    assert check(user_id="U2", user_team_id="T1", home_team_id="T1").allowed
    assert check(user_id="U3", user_team_id="T1", home_team_id="T1", channel_id="C0HELP").allowed
    assert check(user_id="U0BOB", user_team_id="T1", home_team_id="T1").allowed  # approvers may look
    assert not check(user_id="U3", user_team_id="T1", home_team_id="T1", channel_id="C0RANDOM").allowed
    everyone = LookupPolicy(("everyone",), GroupMembers(Groups({})))
    assert everyone.check(user_id="U3", user_team_id="T1", home_team_id="T1").allowed
    assert not everyone.check(user_id="U3", user_team_id="T9", home_team_id="T1").allowed  # never another workspace
    assert invalid_lookup_ids(("everyone", "U0ALICE", "C0HELP", "S0X1", "bob")) == ["bob"]


def test_settings_for_approvals_and_reads():
    from bot.config import ConfigError, load_settings

    settings = load_settings(
        {
            "HSPERM_APPROVAL_TTL_HOURS": "0.5",
            "HSPERM_LOOKUP_ALLOWED": "everyone, C0HELP",
            "HSPERM_APPROVERS": "U0BOB,S0ADMINS",
        },
        dotenv=False,
    )
    assert settings.approval_ttl_hours == 0.5
    assert settings.lookup_allowed == ("everyone", "C0HELP")
    assert settings.approvers == ("U0BOB", "S0ADMINS")
    with pytest.raises(ConfigError, match="HSPERM_LOOKUP_ALLOWED entry 'bob'"):
        load_settings({"HSPERM_LOOKUP_ALLOWED": "bob"}, dotenv=False)
    with pytest.raises(ConfigError, match="HSPERM_APPROVERS"):
        load_settings({"HSPERM_APPROVERS": "C0CHANNEL"}, dotenv=False)
