"""After an approved fix, `/hsperm user` and `python -m bot lookup` say whether the user has logged in since (HubSpot applies
permission changes at the next login): signed requests in-process, fake Slack and HubSpot.

The fix is applied through the real approval flow; its time is then moved back two hours (no
test waits for a clock), so logins one hour ago fall after it and three hours ago before it.
"""

from __future__ import annotations

import json

import pytest

from bot.messages.ids import ACTION_LOOKUP
from bot.store import open_store
from tests.approval_steps import backdate, click, final_update, prepare_world, report_for, request_fix, starter
from tests.fakes.hubspot import ANN_USER, PORTAL, TOKEN, ago, stamp
from tests.fakes.slack import block_action
from tests.lookup_cli_steps import assert_clean, run_lookup
from tests.samples import TICKET_ERROR, lookup_form_submission

SINCE = "logged in since the fix"
SECURITY = "account-info.security.read"


@pytest.fixture
def start(start_bot, fake_hubspot, fake_slack, database_url):
    return starter(start_bot, prepare_world(fake_hubspot, fake_slack), database_url)


def ann_logged_in(fake_hubspot, hours_ago: float) -> None:
    """hsperm's token may read the login history, and it holds one login by Ann."""
    record = fake_hubspot.tokens[TOKEN]
    record.scopes = (*record.scopes, SECURITY)
    fake_hubspot.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(hours=hours_ago)))


def apply_fix_two_hours_ago(bot, fake_slack, database_url) -> str:
    _, request_id = request_fix(bot, fake_slack)
    click(bot, fake_slack, "hsperm_approve", request_id, "U0BOB")
    final_update(fake_slack, "verified")
    store = open_store(database_url)
    try:
        assert store.get_fix_request(request_id).state == "applied"
        backdate(store, request_id, "updated_at", ago(hours=2).timestamp())
    finally:
        store.close()
    return request_id


def test_a_login_after_the_applied_fix_is_reported(start, fake_hubspot, fake_slack, database_url):
    bot = start()
    ann_logged_in(fake_hubspot, 1)
    request_id = apply_fix_two_hours_ago(bot, fake_slack, database_url)
    text = report_for(bot, fake_slack).text
    assert "After the approved fix for Ann: Add Ann to team West (secondary)" in text
    assert f"(request {request_id})" in text
    assert "Ann has logged in since the fix (last successful login" in text
    assert "so the change applies" in text
    assert "not yet" not in text


def test_no_login_since_the_fix_says_not_yet_and_what_to_do(start, fake_hubspot, fake_slack, database_url):
    bot = start()
    ann_logged_in(fake_hubspot, 3)
    apply_fix_two_hours_ago(bot, fake_slack, database_url)
    text = report_for(bot, fake_slack).text
    assert "Ann has not yet logged in since the fix" in text
    assert "HubSpot applies permission changes at the next login: Ann must log out and back in." in text


def test_the_lookup_form_shows_it_too(start, fake_hubspot, fake_slack, database_url):
    bot = start()
    ann_logged_in(fake_hubspot, 3)
    apply_fix_two_hours_ago(bot, fake_slack, database_url)
    before = len(fake_slack.calls("webhook"))
    bot.post_command(TICKET_ERROR)
    [checklist] = fake_slack.wait_for("webhook", before + 1)[before:]
    bot.post_interaction(block_action(fake_slack, ACTION_LOOKUP, checklist.button_value(ACTION_LOOKUP)))
    [opened] = fake_slack.wait_for("views.open")
    bot.post_interaction(lookup_form_submission(opened.params["view"], "ann@example.com", "123", PORTAL))
    [posted] = fake_slack.wait_for("chat.postEphemeral")
    assert "Ann has not yet logged in since the fix" in posted.text


def test_a_request_not_applied_adds_no_line(start, fake_hubspot, fake_slack):
    bot = start()
    ann_logged_in(fake_hubspot, 1)
    request_fix(bot, fake_slack)  # pending: nothing was changed in HubSpot
    text = report_for(bot, fake_slack).text
    assert "What changed for Ann" in text  # forensics ran; the fix section alone is absent
    assert SINCE not in text
    assert "After the approved fix" not in text


def test_without_the_security_scope_the_line_says_which_scope(start, fake_hubspot, fake_slack, database_url):
    bot = start()  # hsperm's token may write, but not read the login history
    apply_fix_two_hours_ago(bot, fake_slack, database_url)
    calls_before = len(fake_hubspot.calls_to("/account-info/v3/activity/login"))
    text = report_for(bot, fake_slack).text
    assert (
        "Unknown: whether Ann has logged in since the fix, because hsperm's HubSpot token lacks the scope "
        "`account-info.security.read`" in text
    )
    assert "After the approved fix for Ann" in text
    assert len(fake_hubspot.calls_to("/account-info/v3/activity/login")) == calls_before  # no doomed call


# -- `python -m bot lookup`, in-process, reading the bot's database -------------------------------


def store_applied_fix(database_url: str, *, hours_ago: float, portal: str = PORTAL) -> str:
    """A fix hsperm applied to Ann `hours_ago`, as the approval flow leaves it in the store."""
    store = open_store(database_url)
    try:
        when = ago(hours=hours_ago).timestamp()
        proposal = {"kind": "secondary_team", "title": "Add Ann to team West (secondary)", "user_id": ANN_USER}
        record = store.create_fix_request(
            team_id="T0TEST", kind="secondary_team", requester_id="U0ALICE", subject_email="ann@example.com",
            proposal=proposal, ttl_seconds=3600, portal_id=portal, now=when,
        )  # fmt: skip
        for target, source in (("approved", "pending"), ("applying", "approved"), ("applied", "applying")):
            assert store.transition_fix(record.id, (source,), target, now=when)
        return record.id
    finally:
        store.close()


def cli(fake_hubspot, database_url: str, *args: str):
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_API_URL": fake_hubspot.url, "DATABASE_URL": database_url}
    result = run_lookup("--email", "ann@example.com", "--portal", PORTAL, *args, env=env)
    assert_clean(result)
    assert result.returncode == 0, result.stderr  # unknowns are not failures
    return result


def test_cli_text_says_ann_logged_in_since_the_fix(fake_hubspot, database_url):
    request_id = store_applied_fix(database_url, hours_ago=2)
    ann_logged_in(fake_hubspot, 1)
    out = cli(fake_hubspot, database_url).stdout
    assert "After the approved fix for Ann: Add Ann to team West (secondary), applied" in out
    assert f"(request {request_id})" in out
    assert "  - Ann has logged in since the fix (last successful login" in out


def test_cli_json_says_not_yet(fake_hubspot, database_url):
    store_applied_fix(database_url, hours_ago=2)
    ann_logged_in(fake_hubspot, 3)
    report = json.loads(cli(fake_hubspot, database_url, "--json").stdout)
    [section] = [s for s in report["forensics"] if s["title"].startswith("After the approved fix")]
    [finding] = section["findings"]
    assert finding["kind"] == "not_logged_in_since_fix"
    assert finding["text"].startswith("Ann has not yet logged in since the fix (")


def test_cli_ignores_a_fix_in_another_portal_or_older_than_a_month(fake_hubspot, database_url):
    store_applied_fix(database_url, hours_ago=2, portal="999999")
    store_applied_fix(database_url, hours_ago=31 * 24)
    ann_logged_in(fake_hubspot, 1)
    out = cli(fake_hubspot, database_url).stdout
    assert "What changed for Ann" in out
    assert SINCE not in out


def test_cli_without_the_scope_names_it(fake_hubspot, database_url):
    store_applied_fix(database_url, hours_ago=2)
    report = json.loads(cli(fake_hubspot, database_url, "--json").stdout)
    [section] = [s for s in report["forensics"] if s["title"].startswith("After the approved fix")]
    assert section["findings"] == []
    [gap] = section["gaps"]
    assert gap["kind"] == "scope" and gap["scope"] == SECURITY
    assert gap["text"].startswith("Unknown: whether Ann has logged in since the fix, because")


def test_cli_without_the_bots_database_adds_nothing_and_creates_none(fake_hubspot, tmp_path):
    ann_logged_in(fake_hubspot, 1)
    missing = tmp_path / "never.db"
    out = cli(fake_hubspot, f"sqlite:///{missing}").stdout
    assert "What changed for Ann" in out and SINCE not in out
    assert not missing.exists()


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda fake: setattr(fake.portal(PORTAL), "activity_available", False), "subscription may not include"),
        (lambda fake: fake.fault("/account-info/v3/activity/login", 503, times=None), "503"),
        (lambda fake: fake.fault("/account-info/v3/activity/login", 429, times=None), "rate limit"),
    ],
    ids=["403-tier", "503", "429"],
)
def test_cli_a_failed_login_read_is_an_unknown_not_a_failure(fake_hubspot, database_url, break_it, reason):
    store_applied_fix(database_url, hours_ago=2)
    ann_logged_in(fake_hubspot, 1)
    break_it(fake_hubspot)
    report = json.loads(cli(fake_hubspot, database_url, "--json").stdout)
    [section] = [s for s in report["forensics"] if s["title"].startswith("After the approved fix")]
    [gap] = section["gaps"]
    assert gap["text"].startswith("Unknown: whether Ann has logged in since the fix, because")
    assert reason in gap["text"]
