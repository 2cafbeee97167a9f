"""Fix requests, one Slack request at a time: signed requests dispatched in-process, fake Slack and HubSpot.

Each post returns once hsperm has finished with it, so "nothing was written" is checked right
after. The scenario (Ann, Alice, Bob, Carol) is in tests/approval_steps.py; concurrency, restarts
and killed processes are over real HTTP in tests/e2e/test_approvals_http.py.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from bot.store import open_store
from tests.approval_steps import (
    APPROVALS,
    LOOKUP,
    audit_actions,
    backdate,
    click,
    final_update,
    fix_state,
    leave_applying,
    posts_in,
    prepare_world,
    report_for,
    request_fix,
    said,
    starter,
    updates,
    webhook_texts,
)
from tests.fakes.hubspot import ANN_USER, EAST, PORTAL, TOKEN, WEST
from tests.fakes.slack import APP_ID, BOT_TOKEN, SIGNING_SECRET, block_action


@pytest.fixture
def world(fake_hubspot, fake_slack):
    return prepare_world(fake_hubspot, fake_slack)


@pytest.fixture
def start(start_bot, world, database_url):
    return starter(start_bot, world, database_url)


# -- the happy path -------------------------------------------------------------------------------


def test_happy_path_request_approve_apply_verify(start, fake_slack, world, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    bot = start()
    report = report_for(bot, fake_slack)
    fix_ids = [a for a in report.action_ids() if a.startswith("hsperm_request_fix")]
    assert len(fix_ids) == len(set(fix_ids)) >= 3  # one button per proposal, unique in the message
    assert "hsperm_request_fix_team-" + WEST in fix_ids
    assert "Add Ann to team West (secondary)" in report.text

    post, request_id = request_fix(bot, fake_slack)
    text = post.text
    assert "<@U0ALICE> asks" in text and "Ann" in text and "ann@example.com" in text
    assert "Secondary teams: none -&gt; West" in text  # the exact change, before -> after
    assert "Ann cannot view ticket 123" in text  # the facts
    assert post.button_value("hsperm_deny") == request_id
    link = said(fake_slack, "Sent")[0]  # the requester's link
    assert f"https://hsperm-test.slack.com/archives/{APPROVALS}/p" in link
    assert world.writes() == []  # nothing is written before an approver decides

    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    done = final_update(fake_slack, "verified")
    assert "verified: Ann can now view ticket 123" in done.text
    assert "log out of HubSpot and back in" in done.text
    assert "Applied* by <@U0BOB>" in done.text
    assert done.action_ids() == []  # buttons gone
    store = open_store(database_url)
    posted_at = store.get_fix_request(request_id).message_ts  # the ts chat.postMessage answered
    store.close()
    assert {u.params["ts"] for u in updates(fake_slack)} == {posted_at}  # updated in place
    assert done.params["channel"] == APPROVALS

    [write] = world.writes()
    assert (write.method, write.path) == ("PUT", f"/settings/v3/users/{ANN_USER}")
    assert write.body == {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}  # read-modify-write
    told = posts_in(fake_slack, "U0ALICE")  # the requester's outcome
    assert "verified: Ann can now view ticket 123" in told[0].text

    actions = audit_actions(database_url, request_id)
    assert [a[0] for a in actions] == ["request", "approve", "intent", "apply"]
    assert actions[-1][1] == "ok" and actions[1][2] == "U0BOB"

    everything = json.dumps([c.params for c in fake_slack.calls()]) + caplog.text
    for secret in (TOKEN, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in everything


# -- refusals -------------------------------------------------------------------------------------


def test_a_strangers_click_changes_nothing_and_is_audited(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    click(bot, fake_slack, "hsperm_approve", request_id, "U0EVE")
    refusal = said(fake_slack, "HSPERM_APPROVERS")
    assert "Only hsperm's approvers" in refusal[0]
    assert world.writes() == [] and updates(fake_slack) == []
    assert ("approve", "refused", "U0EVE") in audit_actions(database_url, request_id)
    assert fix_state(database_url, request_id) == "pending"


def test_an_approver_cannot_approve_their_own_request(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack, user="U0BOB")
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    assert said(fake_slack, "another approver")
    assert world.writes() == []
    assert ("approve", "refused", "U0BOB") in audit_actions(database_url, request_id)
    # Carol is an approver through the user group (usergroups.users.list) and may decide it.
    click(bot, fake_slack, "hsperm_approve", request_id, "U0CAROL")
    assert "verified" in final_update(fake_slack, "verified").text
    assert len(world.writes()) == 1
    assert fake_slack.calls("usergroups.users.list")[0].params["usergroup"] == "S0ADMINS"


def test_denied_then_approve_after_deny_changes_nothing(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    click(bot, fake_slack, "hsperm_deny", request_id, "U0BOB")
    denied = final_update(fake_slack, "Denied")
    assert "Denied* by <@U0BOB>" in denied.text and denied.action_ids() == []
    assert [c for c in posts_in(fake_slack, "U0ALICE") if "Denied" in c.text]  # the requester hears
    click(bot, fake_slack, "hsperm_approve", request_id, "U0CAROL")
    refusal = said(fake_slack, "already denied")
    assert "<@U0BOB>" in refusal[0]
    assert world.writes() == []
    assert ("approve", "refused", "U0CAROL") in audit_actions(database_url, request_id)


def test_an_expired_request_says_so_and_changes_nothing(start, fake_slack, world, database_url):
    bot = start(HSPERM_APPROVAL_TTL_HOURS="0.5")
    _, request_id = request_fix(bot, fake_slack)
    store = open_store(database_url)
    backdate(store, request_id, "expires_at", time.time() - 1)  # half an hour later
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    assert said(fake_slack, "expired")  # the expiry notice
    expired = final_update(fake_slack, "Expired")
    assert expired.action_ids() == []
    told = posts_in(fake_slack, "U0ALICE")  # the requester hears
    assert "Expired" in told[0].text
    click(bot, fake_slack, "hsperm_approve", request_id, "U0CAROL")  # a later click: told, nothing changes
    assert len(said(fake_slack, "expired")) >= 2
    assert len(posts_in(fake_slack, "U0ALICE")) == 1
    assert store.get_fix_request(request_id).state == "expired"
    store.close()
    assert world.writes() == []
    assert ("expire", "ok", None) in audit_actions(database_url, request_id)


# -- faults ---------------------------------------------------------------------------------------


def test_hubspot_failing_the_write_leaves_it_failed_visible_and_retryable(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    world.fault("/settings/v3/users/", status=500, method="PUT", times=1)
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    failed = final_update(fake_slack, "Failed")
    assert "HubSpot had a server error" in failed.text
    assert failed.action_ids() == ["hsperm_retry"]
    assert len(world.writes()) == 1  # one PUT, not retried after a 5xx
    click(bot, fake_slack, "hsperm_retry", request_id, "U0EVE")  # strangers cannot retry either
    assert said(fake_slack, "Only hsperm's approvers")
    click(bot, fake_slack, "hsperm_retry", request_id, "U0CAROL")
    assert "verified" in final_update(fake_slack, "verified").text
    assert len(world.writes()) == 2
    assert [a[0] for a in audit_actions(database_url, request_id) if a[1] != "refused"] == [
        "request", "approve", "intent", "apply", "retry", "intent", "apply",
    ]  # fmt: skip


def test_a_crashed_apply_is_also_settled_lazily_by_pending(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    leave_applying(database_url, request_id)
    bot.post_command("pending", user="U0BOB")
    assert said(fake_slack, "No fix requests are waiting")
    assert final_update(fake_slack, "Failed").action_ids() == ["hsperm_retry"]
    assert world.writes() == []


def test_a_request_slack_refuses_to_post_does_not_linger(start, fake_slack, world, database_url):
    bot = start()
    report = report_for(bot, fake_slack)
    action_id = next(a for a in report.action_ids() if a.startswith("hsperm_request_fix_team"))
    fake_slack.error("chat.postMessage", "not_in_channel")
    bot.post_interaction(block_action(fake_slack, action_id, report.button_value(action_id)))
    assert said(fake_slack, "is hsperm a member")  # the explanation
    store = open_store(database_url)
    try:
        assert [r.state for r in store.fix_requests()] == ["expired"]
    finally:
        store.close()


# -- read access ----------------------------------------------------------------------------------


def test_a_lookup_from_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    form = {
        "team_id": "T0OTHERORG", "team_domain": "other", "channel_id": "C0SHARED", "user_id": "U0OUTSIDER",
        "command": "/hsperm", "text": LOOKUP, "api_app_id": APP_ID, "response_url": fake_slack.webhook_url("command"),
        "trigger_id": "1.2.3",
    }  # fmt: skip
    assert bot.post_signed(urlencode(form).encode(), "application/x-www-form-urlencoded").status_code == 200
    refusal = said(fake_slack, "installed hsperm")
    assert "checklist" in refusal[0]
    assert not world.calls_to("/settings/v3/users/ann")  # HubSpot was never asked
    assert ("lookup", "refused", "U0OUTSIDER") in audit_actions(database_url)


def test_a_fix_button_clicked_by_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    report = report_for(bot, fake_slack)
    action_id = next(a for a in report.action_ids() if a.startswith("hsperm_request_fix_team"))
    payload = block_action(fake_slack, action_id, report.button_value(action_id), user="U0OUTSIDER")
    payload["user"]["team_id"] = "T0OTHERORG"
    bot.post_interaction(payload)
    assert said(fake_slack, "installed hsperm")
    assert posts_in(fake_slack, APPROVALS) == []


def test_the_lookup_button_for_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    payload = block_action(fake_slack, "hsperm_lookup", "any-diagnosis-id", user="U0OUTSIDER")
    payload["user"]["team_id"] = "T0OTHERORG"
    bot.post_interaction(payload)
    assert said(fake_slack, "installed hsperm")
    assert fake_slack.calls("views.open") == []  # no form, no HubSpot data
    assert ("lookup", "refused", "U0OUTSIDER") in audit_actions(database_url)


def test_lookup_allowed_limits_who_may_look(start, fake_slack, world):
    bot = start(HSPERM_LOOKUP_ALLOWED="C0HELPDESK")
    bot.post_command(LOOKUP, user="U0ALICE")
    assert "HSPERM_LOOKUP_ALLOWED" in webhook_texts(fake_slack)[-1]
    bot.post_command(LOOKUP, user="U0ALICE", channel="C0HELPDESK")
    assert said(fake_slack, "Ann cannot view ticket 123")  # the report


# -- approvers' commands and manual tasks ---------------------------------------------------------


def test_pending_and_audit_are_for_approvers_only(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.post_command("pending", user="U0ALICE")
    assert said(fake_slack, "can see pending requests")  # the refusal
    bot.post_command("pending", user="U0BOB")
    listed = said(fake_slack, "waiting")
    assert request_id in listed[-1] and "Add Ann to team West" in listed[-1]
    bot.post_command("audit 5", user="U0CAROL")
    audit = said(fake_slack, "Audit log")
    assert "*request* ok" in audit[-1] and "*pending* refused" in audit[-1]


def test_a_manual_task_is_tracked_and_marked_done(start, fake_slack, world, database_url):
    bot = start()
    post, request_id = request_fix(bot, fake_slack, prefix="hsperm_request_fix_manual-access_levels")
    assert "hsperm manual task" in post.text
    assert "*Tickets*" in post.text and f"https://app.hubspot.com/settings/{PORTAL}/users" in post.text
    assert post.action_ids() == ["hsperm_mark_done", "hsperm_deny"]
    click(bot, fake_slack, "hsperm_mark_done", request_id, "U0BOB")
    assert "Done* by <@U0BOB>" in final_update(fake_slack, "Done").text
    assert world.writes() == []


def test_a_role_change_for_a_user_with_several_roles_needs_the_approvers_confirmation(
    start, fake_slack, world, database_url
):
    world.portal(PORTAL).users[ANN_USER]["roleIds"] = ["1234", "5678"]
    world.add_role(PORTAL, "4321", "Support Lead")
    bot = start()
    post, request_id = request_fix(bot, fake_slack, prefix="hsperm_request_fix_role")
    assert "drops the others" in post.text
    assert post.action_ids()[:2] == ["hsperm_fix_role", "hsperm_fix_confirm"]
    block = next(b["block_id"] for b in post.params["blocks"] if b.get("block_id", "").startswith("hsperm_decide"))
    picked = {"type": "static_select", "selected_option": {"value": "4321", "text": {"type": "plain_text", "text": "x"}}}
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB", state={block: {"hsperm_fix_role": picked}})
    assert said(fake_slack, "tick")  # the refusal
    assert world.writes() == []
    ticked = {"type": "checkboxes", "selected_options": [{"value": "confirm"}]}
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB",
          state={block: {"hsperm_fix_role": picked, "hsperm_fix_confirm": ticked}})  # fmt: skip
    final_update(fake_slack, "Applied")
    [write] = world.writes()
    assert write.body == {"roleId": "4321"}  # the set the approver picked
    assert world.portal(PORTAL).users[ANN_USER]["roleIds"] == ["4321"]


def test_a_fix_the_token_cannot_apply_names_the_scope_instead_of_a_button(start, fake_slack, world):
    world.tokens[TOKEN].scopes = tuple(s for s in world.tokens[TOKEN].scopes if s != "settings.users.write")
    bot = start()
    report = report_for(bot, fake_slack)
    assert not any(a.startswith("hsperm_request_fix_team") for a in report.action_ids())
    assert "lacks the `settings.users.write` scope" in report.text


def test_app_home_shows_approvers_what_waits(start, fake_slack, world):
    bot = start()
    request_fix(bot, fake_slack)
    for user in ("U0BOB", "U0ALICE"):
        bot.post_event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    views = fake_slack.calls("views.publish")
    assert len(views) >= 2
    by_user = {v.params["user_id"]: v.text for v in views}
    assert "Fix requests waiting for an approver" in by_user["U0BOB"]
    assert "Add Ann to team West" in by_user["U0BOB"]
    assert "Fix requests waiting" not in by_user["U0ALICE"]
