"""The steps of a fix request as Slack users take them, for the in-process and the real-HTTP tests.

Ann (team East, ticket access 'Team only' in the fake) cannot see ticket 123 of team West. Alice
asks for a fix from the lookup report; Bob (a listed approver) or Carol (in the approvers' user
group S0ADMINS) decides in #approvals. Each helper waits for what it needs, so it serves both an
in-process bot (already done when a post returns) and one over HTTP (done a little later).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.store import open_store
from tests.fakes.hubspot import ANN_USER, PORTAL, TOKEN, WEST, WRITE_SCOPES
from tests.fakes.slack import block_action

APPROVALS = "C0APPROVE"
LOOKUP = f"user ann@example.com ticket 123 portal {PORTAL}"


def prepare_world(fake_hubspot: Any, fake_slack: Any) -> Any:
    """hsperm's token may write; Ann's permission set gives 'Team only' ticket access."""
    record = fake_hubspot.tokens[TOKEN]
    record.scopes = (*record.scopes, *WRITE_SCOPES)
    fake_hubspot.portal(PORTAL).access_levels = {ANN_USER: "TEAM"}
    fake_slack.usergroups["S0ADMINS"] = ["U0CAROL"]
    return fake_hubspot


def starter(start_bot: Callable[..., Any], world: Any, database_url: str) -> Callable[..., Any]:
    """`start(url=None, **settings)`: an hsperm with lookups and approvals on, aimed at the fakes."""

    def run(url: str | None = None, **overrides: str) -> Any:
        env = {
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_API_URL": world.url,
            "HSPERM_APPROVERS": "U0BOB,S0ADMINS",
            "HSPERM_APPROVAL_CHANNEL": APPROVALS,
        }
        env.update(overrides)
        return start_bot(url or database_url, **env)

    return run


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def posts_in(fake_slack: Any, channel: str) -> list[Any]:
    """chat.postMessage calls to `channel` (a user id: the DMs that user got)."""
    return [c for c in fake_slack.calls("chat.postMessage") if c.params.get("channel") == channel]


def webhook_texts(fake_slack: Any) -> list[str]:
    return [c.text for c in fake_slack.calls("webhook")]


def said(fake_slack: Any, fragment: str) -> list[str]:
    """The replies (through response_url) that contain `fragment`."""
    return [t for t in webhook_texts(fake_slack) if fragment in t]


def updates(fake_slack: Any) -> list[Any]:
    return fake_slack.calls("chat.update")


def final_update(fake_slack: Any, word: str) -> Any:
    return wait_until(lambda: [u for u in updates(fake_slack) if word in u.text], f"an update saying {word!r}")[-1]


def report_for(bot: Any, fake_slack: Any, user: str = "U0ALICE") -> Any:
    before = len(fake_slack.calls("webhook"))
    assert bot.post_command(LOOKUP, user=user).status_code == 200
    return wait_until(lambda: fake_slack.calls("webhook")[before:], "the lookup report")[0]


def request_fix(bot: Any, fake_slack: Any, *, user: str = "U0ALICE", prefix: str = "hsperm_request_fix_team") -> Any:
    """Look Ann up as `user`, click the fix button starting with `prefix`; returns (post, request id)."""
    report = report_for(bot, fake_slack, user)
    action_id = next(a for a in report.action_ids() if a.startswith(prefix))
    before = len(posts_in(fake_slack, APPROVALS))
    click = block_action(fake_slack, action_id, report.button_value(action_id), user=user)
    assert bot.post_interaction(click).status_code == 200
    post = wait_until(lambda: posts_in(fake_slack, APPROVALS)[before:], "the request in #approvals")[0]
    return post, post.button_value("hsperm_approve" if "hsperm_approve" in post.action_ids() else "hsperm_mark_done")


def click(bot: Any, fake_slack: Any, action_id: str, request_id: str, user: str, *, state: dict | None = None) -> Any:
    """`user` clicks `action_id` on the request's message in #approvals."""
    payload = block_action(fake_slack, action_id, request_id, user=user, channel=APPROVALS)
    payload["container"]["is_ephemeral"] = False
    payload["message"] = {"ts": "1764300001.000100", "text": "hsperm fix request"}
    if state is not None:
        payload["state"] = {"values": state}
    response = bot.post_interaction(payload)
    assert response.status_code == 200
    return response


def fix_state(url: str, request_id: str) -> str:
    store = open_store(url)
    try:
        return store.get_fix_request(request_id).state
    finally:
        store.close()


def audit_actions(url: str, request_id: str | None = None) -> list[tuple[str, str, str | None]]:
    store = open_store(url)
    try:
        return [(e.action, e.result, e.actor_id) for e in store.audit_entries() if request_id in (None, e.request_id)]
    finally:
        store.close()


def backdate(store: Any, request_id: str, column: str, when: float) -> None:
    """Set one of the request's times, as if that much time had passed (no test waits for a clock)."""
    statement = {
        "expires_at": "UPDATE fix_requests SET expires_at = ? WHERE id = ?",
        "intent_at": "UPDATE fix_requests SET intent_at = ? WHERE id = ?",
        "updated_at": "UPDATE fix_requests SET updated_at = ? WHERE id = ?",
    }[column]
    with store._cursor() as cur:
        cur.execute(store._sql(statement), (when, request_id))


def leave_applying(url: str, request_id: str, *, seconds_ago: float = 600) -> None:
    """What a process killed between recording its intent and the HubSpot write leaves behind."""
    store = open_store(url)
    try:
        now = time.time()
        assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=now)
        intent = {"method": "PUT", "path": f"/settings/v3/users/{ANN_USER}", "body": {"secondaryTeamIds": [WEST]}}
        assert store.transition_fix(request_id, ("approved",), "applying", intent_json=intent, intent_at=now - seconds_ago)
    finally:
        store.close()
