"""Fix requests end to end, over real HTTP: signed Slack requests to hsperm, fake Slack, fake HubSpot.

Ann (team East, ticket access 'Team only' in the fake) cannot see ticket 123 of team West. Alice
asks for a fix from the lookup report; Bob (a listed approver) or Carol (in the approvers' user
group S0ADMINS) decides in #approvals; HubSpot's own per-record check confirms the result.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import urlencode

import pytest

from bot.store import open_store
from tests.fakes.hubspot import ANN_USER, EAST, PORTAL, TOKEN, WEST, WRITE_SCOPES
from tests.fakes.slack import APP_ID, BOT_TOKEN, SIGNING_SECRET, block_action

APPROVALS = "C0APPROVE"
LOOKUP = f"user ann@example.com ticket 123 portal {PORTAL}"


@pytest.fixture
def world(fake_hubspot, fake_slack):
    """hsperm's token may write; Ann's permission set gives 'Team only' ticket access."""
    record = fake_hubspot.tokens[TOKEN]
    record.scopes = (*record.scopes, *WRITE_SCOPES)
    fake_hubspot.portal(PORTAL).access_levels = {ANN_USER: "TEAM"}
    fake_slack.usergroups["S0ADMINS"] = ["U0CAROL"]
    return fake_hubspot


@pytest.fixture
def start(start_bot, world, database_url):
    def run(url: str | None = None, **overrides: str):
        env = {
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_API_URL": world.url,
            "HSPERM_APPROVERS": "U0BOB,S0ADMINS",
            "HSPERM_APPROVAL_CHANNEL": APPROVALS,
        }
        env.update(overrides)
        return start_bot(url or database_url, **env)

    return run


def wait_until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def posts_in(fake_slack, channel: str):
    return [c for c in fake_slack.calls("chat.postMessage") if c.params.get("channel") == channel]


def webhook_texts(fake_slack) -> list[str]:
    return [c.text for c in fake_slack.calls("webhook")]


def report_for(bot, fake_slack, user: str = "U0ALICE"):
    before = len(fake_slack.calls("webhook"))
    assert bot.post_command(LOOKUP, user=user).status_code == 200
    return wait_until(lambda: fake_slack.calls("webhook")[before:], "the lookup report")[0]


def request_fix(bot, fake_slack, *, user: str = "U0ALICE", prefix: str = "hsperm_request_fix_team"):
    """Look Ann up as `user`, click the fix button starting with `prefix`; returns (post, request id)."""
    report = report_for(bot, fake_slack, user)
    action_id = next(a for a in report.action_ids() if a.startswith(prefix))
    before = len(posts_in(fake_slack, APPROVALS))
    click = block_action(fake_slack, action_id, report.button_value(action_id), user=user)
    assert bot.post_interaction(click).status_code == 200
    post = wait_until(lambda: posts_in(fake_slack, APPROVALS)[before:], "the request in #approvals")[0]
    return post, post.button_value("hsperm_approve" if "hsperm_approve" in post.action_ids() else "hsperm_mark_done")


def click(bot, fake_slack, action_id: str, request_id: str, user: str, *, state: dict | None = None):
    payload = block_action(fake_slack, action_id, request_id, user=user, channel=APPROVALS)
    payload["container"]["is_ephemeral"] = False
    payload["message"] = {"ts": "1764300001.000100", "text": "hsperm fix request"}
    if state is not None:
        payload["state"] = {"values": state}
    response = bot.post_interaction(payload)
    assert response.status_code == 200
    return response


def updates(fake_slack):
    return fake_slack.calls("chat.update")


def final_update(fake_slack, word: str):
    return wait_until(lambda: [u for u in updates(fake_slack) if word in u.text], f"an update saying {word!r}")[-1]


def store_for(url):
    return open_store(url)


def audit_actions(url, request_id=None):
    store = store_for(url)
    try:
        return [(e.action, e.result, e.actor_id) for e in store.audit_entries() if request_id in (None, e.request_id)]
    finally:
        store.close()


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
    link = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "Sent" in t], "the requester's link")[0]
    assert f"https://hsperm-test.slack.com/archives/{APPROVALS}/p" in link
    assert world.writes() == []  # nothing is written before an approver decides

    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    done = final_update(fake_slack, "verified")
    assert "verified: Ann can now view ticket 123" in done.text
    assert "log out of HubSpot and back in" in done.text
    assert "Applied* by <@U0BOB>" in done.text
    assert done.action_ids() == []  # buttons gone
    store = store_for(database_url)
    posted_at = store.get_fix_request(request_id).message_ts  # the ts chat.postMessage answered
    store.close()
    assert {u.params["ts"] for u in updates(fake_slack)} == {posted_at}  # updated in place
    assert done.params["channel"] == APPROVALS

    [write] = world.writes()
    assert (write.method, write.path) == ("PUT", f"/settings/v3/users/{ANN_USER}")
    assert write.body == {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}  # read-modify-write
    told = wait_until(lambda: [c for c in fake_slack.calls("chat.postMessage") if c.params["channel"] == "U0ALICE"],
                      "the requester's outcome")  # fmt: skip
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
    said = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "HSPERM_APPROVERS" in t], "the refusal")
    assert "Only hsperm's approvers" in said[0]
    fake_slack.settle()
    assert world.writes() == [] and updates(fake_slack) == []
    assert ("approve", "refused", "U0EVE") in audit_actions(database_url, request_id)
    store = store_for(database_url)
    assert store.get_fix_request(request_id).state == "pending"
    store.close()


def test_an_approver_cannot_approve_their_own_request(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack, user="U0BOB")
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "another approver" in t], "the refusal")
    fake_slack.settle()
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
    wait_until(lambda: [c for c in fake_slack.calls("chat.postMessage") if c.params["channel"] == "U0ALICE"
                        and "Denied" in c.text], "the requester hears")  # fmt: skip
    click(bot, fake_slack, "hsperm_approve", request_id, "U0CAROL")
    said = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "already denied" in t], "the refusal")
    assert "<@U0BOB>" in said[0]
    fake_slack.settle()
    assert world.writes() == []
    assert ("approve", "refused", "U0CAROL") in audit_actions(database_url, request_id)


def test_an_expired_request_says_so_and_changes_nothing(start, fake_slack, world, database_url):
    bot = start(HSPERM_APPROVAL_TTL_HOURS="0.5")
    _, request_id = request_fix(bot, fake_slack)
    store = store_for(database_url)
    with store._cursor() as cur:  # half an hour later
        cur.execute(store._sql("UPDATE fix_requests SET expires_at = ? WHERE id = ?"), (time.time() - 1, request_id))
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "expired" in t], "the expiry notice")
    expired = final_update(fake_slack, "Expired")
    assert expired.action_ids() == []
    told = wait_until(lambda: [c for c in fake_slack.calls("chat.postMessage") if c.params["channel"] == "U0ALICE"],
                      "the requester hears")  # fmt: skip
    assert "Expired" in told[0].text
    click(bot, fake_slack, "hsperm_approve", request_id, "U0CAROL")  # a later click: told, nothing changes
    wait_until(lambda: len([t for t in webhook_texts(fake_slack) if "expired" in t]) >= 2, "the second notice")
    fake_slack.settle()
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.params["channel"] == "U0ALICE"]) == 1
    assert store.get_fix_request(request_id).state == "expired"
    store.close()
    assert world.writes() == []
    assert ("expire", "ok", None) in audit_actions(database_url, request_id)


# -- exactly once ---------------------------------------------------------------------------------


def test_twenty_concurrent_approvals_on_two_instances_write_once(start, fake_slack, world, postgres_url):
    first, second = start(postgres_url), start(postgres_url)
    _, request_id = request_fix(first, fake_slack)
    barrier = threading.Barrier(20)

    def approve(n: int) -> None:
        barrier.wait()
        click((first, second)[n % 2], fake_slack, "hsperm_approve", request_id, ("U0BOB", "U0CAROL")[n % 2])

    threads = [threading.Thread(target=approve, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final_update(fake_slack, "verified")
    wait_until(lambda: len([t for t in webhook_texts(fake_slack) if "already" in t]) >= 19, "19 refusals")
    fake_slack.settle()
    assert len(world.writes()) == 1  # measured: 20 clicks on 2 instances -> 1 HubSpot write
    assert len([u for u in updates(fake_slack) if "verified" in u.text]) == 1
    refusals = [a for a in audit_actions(postgres_url, request_id) if a[1] == "refused"]
    assert len(refusals) == 19


def _leave_applying(url: str, request_id: str, *, seconds_ago: float = 600) -> None:
    """What a process killed between recording its intent and the HubSpot write leaves behind."""
    store = store_for(url)
    try:
        now = time.time()
        assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=now)
        intent = {"method": "PUT", "path": f"/settings/v3/users/{ANN_USER}", "body": {"secondaryTeamIds": [WEST]}}
        assert store.transition_fix(request_id, ("approved",), "applying", intent_json=intent, intent_at=now - seconds_ago)
    finally:
        store.close()


def test_a_crash_before_the_write_is_settled_on_restart_without_writing(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    _leave_applying(database_url, request_id)
    bot.stop()
    start()  # the restart reconciles by reading HubSpot
    failed = final_update(fake_slack, "Failed")
    assert "hsperm stopped while applying it" in failed.text
    assert failed.action_ids() == ["hsperm_retry"]
    fake_slack.settle()
    assert world.writes() == []  # never repeated blindly
    store = store_for(database_url)
    assert store.get_fix_request(request_id).state == "failed"
    store.close()


def test_a_crash_after_the_write_is_settled_as_applied(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    _leave_applying(database_url, request_id)
    world.portal(PORTAL).users[ANN_USER]["secondaryTeamIds"] = [WEST]  # HubSpot got the write before the crash
    bot.stop()
    start()
    assert "verified: Ann can now view ticket 123" in final_update(fake_slack, "verified").text
    fake_slack.settle()
    assert world.writes() == []


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
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "Only hsperm's approvers" in t], "the refusal")
    click(bot, fake_slack, "hsperm_retry", request_id, "U0CAROL")
    assert "verified" in final_update(fake_slack, "verified").text
    assert len(world.writes()) == 2
    assert [a[0] for a in audit_actions(database_url, request_id) if a[1] != "refused"] == [
        "request", "approve", "intent", "apply", "retry", "intent", "apply",
    ]  # fmt: skip


# -- read access ----------------------------------------------------------------------------------


def test_a_lookup_from_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    form = {
        "team_id": "T0OTHERORG", "team_domain": "other", "channel_id": "C0SHARED", "user_id": "U0OUTSIDER",
        "command": "/hsperm", "text": LOOKUP, "api_app_id": APP_ID, "response_url": fake_slack.webhook_url("command"),
        "trigger_id": "1.2.3",
    }  # fmt: skip
    assert bot.post_signed(urlencode(form).encode(), "application/x-www-form-urlencoded").status_code == 200
    said = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "installed hsperm" in t], "the refusal")
    assert "checklist" in said[0]
    fake_slack.settle()
    assert not world.calls_to("/settings/v3/users/ann")  # HubSpot was never asked
    assert ("lookup", "refused", "U0OUTSIDER") in audit_actions(database_url)


def test_a_fix_button_clicked_by_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    report = report_for(bot, fake_slack)
    action_id = next(a for a in report.action_ids() if a.startswith("hsperm_request_fix_team"))
    payload = block_action(fake_slack, action_id, report.button_value(action_id), user="U0OUTSIDER")
    payload["user"]["team_id"] = "T0OTHERORG"
    bot.post_interaction(payload)
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "installed hsperm" in t], "the refusal")
    fake_slack.settle()
    assert posts_in(fake_slack, APPROVALS) == []


def test_the_lookup_button_for_another_workspaces_user_is_refused(start, fake_slack, world, database_url):
    bot = start()
    payload = block_action(fake_slack, "hsperm_lookup", "any-diagnosis-id", user="U0OUTSIDER")
    payload["user"]["team_id"] = "T0OTHERORG"
    bot.post_interaction(payload)
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "installed hsperm" in t], "the refusal")
    fake_slack.settle()
    assert fake_slack.calls("views.open") == []  # no form, no HubSpot data
    assert ("lookup", "refused", "U0OUTSIDER") in audit_actions(database_url)


def test_lookup_allowed_limits_who_may_look(start, fake_slack, world):
    bot = start(HSPERM_LOOKUP_ALLOWED="C0HELPDESK")
    bot.post_command(LOOKUP, user="U0ALICE")
    said = wait_until(lambda: webhook_texts(fake_slack), "the answer")
    assert "HSPERM_LOOKUP_ALLOWED" in said[-1]
    bot.post_command(LOOKUP, user="U0ALICE", channel="C0HELPDESK")
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "Ann cannot view ticket 123" in t], "the report")


# -- approvers' commands and manual tasks ---------------------------------------------------------


def test_pending_and_audit_are_for_approvers_only(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.post_command("pending", user="U0ALICE")
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "can see pending requests" in t], "the refusal")
    bot.post_command("pending", user="U0BOB")
    listed = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "waiting" in t], "the list")
    assert request_id in listed[-1] and "Add Ann to team West" in listed[-1]
    bot.post_command("audit 5", user="U0CAROL")
    audit = wait_until(lambda: [t for t in webhook_texts(fake_slack) if "Audit log" in t], "the audit")
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
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "tick" in t], "the refusal")
    fake_slack.settle()
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


def test_a_crashed_apply_is_also_settled_lazily_by_pending(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    _leave_applying(database_url, request_id)
    bot.post_command("pending", user="U0BOB")
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "No fix requests are waiting" in t], "the list")
    assert final_update(fake_slack, "Failed").action_ids() == ["hsperm_retry"]
    assert world.writes() == []


def test_app_home_shows_approvers_what_waits(start, fake_slack, world):
    bot = start()
    request_fix(bot, fake_slack)
    for user in ("U0BOB", "U0ALICE"):
        bot.post_event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    views = wait_until(lambda: len(fake_slack.calls("views.publish")) >= 2 and fake_slack.calls("views.publish"), "homes")
    by_user = {v.params["user_id"]: v.text for v in views}
    assert "Fix requests waiting for an approver" in by_user["U0BOB"]
    assert "Add Ann to team West" in by_user["U0BOB"]
    assert "Fix requests waiting" not in by_user["U0ALICE"]


def test_a_request_slack_refuses_to_post_does_not_linger(start, fake_slack, world, database_url):
    bot = start()
    report = report_for(bot, fake_slack)
    action_id = next(a for a in report.action_ids() if a.startswith("hsperm_request_fix_team"))
    fake_slack.error("chat.postMessage", "not_in_channel")
    bot.post_interaction(block_action(fake_slack, action_id, report.button_value(action_id)))
    wait_until(lambda: [t for t in webhook_texts(fake_slack) if "is hsperm a member" in t], "the explanation")
    store = store_for(database_url)
    try:
        assert [r.state for r in store.fix_requests()] == ["expired"]
    finally:
        store.close()


APPLY_IN_A_CHILD = """
import sys
from bot.approvals import FixService
from bot.hubspot import HubSpotClient
from bot.store import open_store
url, hubspot, token, request_id = sys.argv[1:]
store = open_store(url)
FixService(store, HubSpotClient(access_token=token, base_url=hubspot), ttl_hours=1).apply(request_id)
"""


def test_a_process_killed_during_the_write_leaves_a_truthful_state(start, fake_slack, world, database_url):
    """A real process is killed while its PUT is in flight; the restarted app settles it by reading."""
    import subprocess
    import sys
    from pathlib import Path

    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.stop()
    store = store_for(database_url)
    assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=time.time())
    world.fault("/settings/v3/users/", status=500, method="PUT", delay=30)  # HubSpot hangs, then fails
    child = subprocess.Popen(
        [sys.executable, "-c", APPLY_IN_A_CHILD, database_url, world.url, TOKEN, request_id],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        wait_until(lambda: world.writes(), "the child's PUT")
    finally:
        child.kill()
        child.wait(timeout=10)
    record = store.get_fix_request(request_id)
    assert record.state == "applying" and record.intent["body"] == {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}
    with store._cursor() as cur:  # the restart comes after the grace period
        cur.execute(store._sql("UPDATE fix_requests SET intent_at = ? WHERE id = ?"), (time.time() - 600, request_id))
    start()
    assert final_update(fake_slack, "Failed").action_ids() == ["hsperm_retry"]
    fake_slack.settle()
    assert len(world.writes()) == 1  # the killed one; nothing was sent again
    assert store.get_fix_request(request_id).state == "failed"
    store.close()


def test_a_crash_right_after_approval_is_settled_without_writing(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    store = store_for(database_url)
    assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=time.time() - 600)
    store.close()
    bot.stop()
    start()
    failed = final_update(fake_slack, "Failed")
    assert "nothing was sent to HubSpot" in failed.text and failed.action_ids() == ["hsperm_retry"]
    fake_slack.settle()
    assert world.writes() == []
