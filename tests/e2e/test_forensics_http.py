"""A pasted token error's forensics are read after the ack, over real HTTP: the fake HubSpot holds
the security log behind a gate, and Slack has its 200 and the checklist before the gate opens."""

from __future__ import annotations

import threading

from tests.fakes.hubspot import BOB_USER, PORTAL, TOKEN, ago, stamp
from tests.fakes.slack import message_event
from tests.samples import INVALID_TOKEN


def test_the_security_log_is_read_after_the_ack_and_the_checklist(start_http_bot, forensics_hubspot, fake_slack):
    bot = start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=forensics_hubspot.url)
    forensics_hubspot.add_security_event(
        PORTAL,
        "PRIVATE_APP_ACCESS_TOKEN_ROTATE",
        stamp(ago(minutes=3)),
        acting_user_id=BOB_USER,
        acting_email="bob@example.com",
        object_id="3300001",
    )
    gate = threading.Event()
    forensics_hubspot.fault("/account-info/v3/activity/security", passthrough=True, gate=gate)
    try:
        response = bot.post_event(message_event(INVALID_TOKEN))
        assert response.status_code == 200  # acknowledged while HubSpot's log is still held
        [checklist] = fake_slack.wait_for("chat.postMessage")
        assert "Bob Stone" not in checklist.text
    finally:
        gate.set()
    _, follow_up = fake_slack.wait_for("chat.postMessage", 2)
    assert "was rotated by Bob Stone" in follow_up.text
