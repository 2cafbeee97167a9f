"""Issue 10, "security in CI": every flow, run with secrets in the settings and in the pastes, and
every log line, stored row, HTTP answer and outgoing Slack message searched for any of them.

Secrets are pasted as people paste them: plain, in curl commands, URL-encoded (`Bearer+…`,
`hapikey%3D…`), JSON-escaped (`\\/`) and `\\u`-escaped; and hsperm's own configured tokens are
pasted too. A value counts as leaked if it appears in any output as written, URL-decoded or
JSON-unescaped. Logs are captured at DEBUG through the production set-up (`bot.logs`), so Bolt's,
slack_sdk's, urllib3's and hsperm's own lines are all searched.
"""

from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import psycopg
import pytest

from bot.config import load_settings
from bot.logs import configure_logging
from bot.messages.ids import (
    ACTION_LOOKUP,
    ACTION_SHARE,
    MODAL_ACTION_ID,
    MODAL_BLOCK_ID,
    MODAL_CALLBACK_ID,
    SHORTCUT_CALLBACK_ID,
)
from bot.slack_client import make_client
from bot.web import create_wsgi_app
from tests.fakes.hubspot import EU_PORTAL, EU_TOKEN, PORTAL, TOKEN
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, BotServer, block_action, bot_env, message_event
from tests.samples import TICKET_ERROR, lookup_form_submission

# -- secrets in the settings ------------------------------------------------------------------
CLIENT_ID = "5f2c8a41-0b3d-4e6f-9a7c-2d1e0f3b4a5c"
CLIENT_SECRET = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
METRICS_TOKEN = "metrics-bearer-7d3f9a2b6c"
DB_PASSWORD = "db-pass-Zq81xTQ4"

# -- secrets people paste ---------------------------------------------------------------------
PASTED_PAT = "pat-eu1-7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1f0e"
PASTED_OAUTH = "CKmz4a9xMhICAQEYqeKgDiCQ5pwBKJqWDDIUWs8Qfx9cOCGgMbRsOtoXjt8aQPg6MAAAQAAAAAAAAAAAAAAAAAAAAA"
PASTED_BEARER = "ya29.a0AfH6SMBx/Kq+Zt7rL0pQw9e8nV3cXyz=="
PASTED_HAPIKEY = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
PASTED_SLACK = "xoxb-4242424242-4242424242424-QwErTyUiOpAsDfGhJkLzXcVb"
PASTED_APP = "xapp-1-A0HSPERM-1234567890-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASTED_REFRESH = "na1-6b5a-4c3d-8e2f-1a0b9c8d7e6f5a4b3c2d"
PASTED_CLIENT_SECRET = "0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c"

CONFIGURED = [BOT_TOKEN, SIGNING_SECRET, TOKEN, EU_TOKEN, CLIENT_SECRET, METRICS_TOKEN, DB_PASSWORD]
PASTED = [PASTED_PAT, PASTED_OAUTH, PASTED_BEARER, PASTED_HAPIKEY, PASTED_SLACK, PASTED_APP, PASTED_REFRESH,
          PASTED_CLIENT_SECRET]


def _json_escaped(value: str) -> str:
    return value.replace("/", "\\/")


def _u_escaped(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


PASTES = [
    # plain, the way curl commands and logs show them
    f"curl -H 'Authorization: Bearer {PASTED_PAT}' https://api.hubapi.com/crm/v3/objects/tickets\n{TICKET_ERROR}",
    f"Authorization: Bearer {PASTED_OAUTH}\n401 Unauthorized {TICKET_ERROR}",
    f"SLACK_BOT_TOKEN={PASTED_SLACK} SLACK_APP_TOKEN={PASTED_APP}\n{TICKET_ERROR}",
    f'{{"refresh_token": "{PASTED_REFRESH}", "client_secret": "{PASTED_CLIENT_SECRET}"}}\n{TICKET_ERROR}',
    # URL-encoded: form posts and proxy logs
    f"POST /oauth/v1/token body=Authorization=Bearer+{quote_plus(PASTED_BEARER)}&x=1\n{TICKET_ERROR}",
    f"GET https://api.hubapi.com/contacts/v1/lists?hapikey%3D{PASTED_HAPIKEY} -> 403\n{TICKET_ERROR}",
    f"header=Authorization%3A%20Bearer%20{quote(PASTED_OAUTH, safe='')}\n{TICKET_ERROR}",
    # JSON-escaped and \\u-escaped, as a JSON log line carries them
    f'{{"headers": {{"Authorization": "Bearer {_json_escaped(PASTED_BEARER)}"}}}}\n{TICKET_ERROR}',
    f'{{"token": "{_u_escaped(PASTED_PAT)}", "err": "{TICKET_ERROR}"}}',
    # a secret where the engine reads fields it puts into the checklist
    f"You do not have permissions to view object type ObjectTypeId{{legacyObjectType=TICKET}} in portal {PORTAL} "
    f"(requires one of [tickets-read, {PASTED_PAT}]): Forbidden.",
    # hsperm's own configured secrets, pasted back at it
    f"my settings: {BOT_TOKEN} {SIGNING_SECRET} Bearer {TOKEN} {EU_TOKEN} client_secret={CLIENT_SECRET}\n{TICKET_ERROR}",
]


def _readings(text: str) -> list[str]:
    json_unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")
    return [text, unquote(text), unquote_plus(text), json_unescaped, unquote_plus(json_unescaped)]


def _leaks(haystack: str) -> list[str]:
    readings = _readings(haystack)
    return [v[:12] + "…" for v in CONFIGURED + PASTED if any(v in r for r in readings)]


@pytest.fixture
def captured_logs(fake_slack):
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    stream = io.StringIO()
    root.handlers = []
    yield stream
    root.handlers = saved_handlers
    root.setLevel(saved_level)


def test_no_flow_leaks_a_secret_to_logs_store_answers_or_slack(fake_slack, fake_hubspot, postgres_url, captured_logs):
    database_url = postgres_url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
    assert DB_PASSWORD in database_url
    env = bot_env(
        fake_slack,
        database_url,
        HUBSPOT_ACCESS_TOKEN=TOKEN,
        HUBSPOT_PORTAL_TOKENS=f"{EU_PORTAL}={EU_TOKEN}",
        HUBSPOT_API_URL=fake_hubspot.url,
        HUBSPOT_CLIENT_ID=CLIENT_ID,
        HUBSPOT_CLIENT_SECRET=CLIENT_SECRET,
        METRICS_TOKEN=METRICS_TOKEN,
        LOG_LEVEL="DEBUG",
    )
    settings = load_settings(env, dotenv=False)
    configure_logging(settings, stream=captured_logs)
    # Slack's 500s are retried as in production; only the backoff sleeps are recorded, not slept.
    wsgi = create_wsgi_app(settings, client=make_client(settings, sleep=[].append))
    bot = BotServer(wsgi, fake_slack)
    answers: list[str] = []

    def send(response) -> None:
        answers.append(response.text)

    try:
        # Pastes on every surface: channel message, mention, /hsperm, the form, the shortcut.
        for index, paste in enumerate(PASTES):
            send(bot.post_event(message_event(paste, channel=f"C0LEAK{index}")))
        mention = message_event(PASTES[4])
        mention["type"] = "app_mention"
        send(bot.post_event(mention))
        for paste in PASTES:
            send(bot.post_command(paste))
        send(bot.post_command(""))
        form = {"type": "view_submission", "user": {"id": "U0ALICE", "team_id": TEAM_ID}, "trigger_id": "1.2.3",
                "view": {"id": "V0F", "type": "modal", "callback_id": MODAL_CALLBACK_ID,
                         "private_metadata": json.dumps({"channel": "C0GENERAL"}),
                         "state": {"values": {MODAL_BLOCK_ID: {MODAL_ACTION_ID: {"type": "plain_text_input",
                                                                                  "value": PASTES[5]}}}}}}
        send(bot.post_interaction(form))
        shortcut = {"type": "message_action", "callback_id": SHORTCUT_CALLBACK_ID, "trigger_id": "1.2.4",
                    "user": {"id": "U0ALICE", "team_id": TEAM_ID}, "channel": {"id": "C0GENERAL"},
                    "message": {"type": "message", "user": "U0BOB", "ts": "1764299999.000100", "text": PASTES[7]},
                    "response_url": fake_slack.webhook_url("shortcut")}
        send(bot.post_interaction(shortcut))
        fake_slack.wait_for("webhook", count=len(PASTES) + 1, timeout=30)

        # Share and lookup buttons on a diagnosis that held a token.
        private = next(c for c in fake_slack.calls("webhook") if ACTION_LOOKUP in c.action_ids())
        send(bot.post_interaction(block_action(fake_slack, ACTION_SHARE, private.button_value(ACTION_SHARE))))
        send(bot.post_interaction(block_action(fake_slack, ACTION_LOOKUP, private.button_value(ACTION_LOOKUP))))
        opened = [c for c in fake_slack.wait_for("views.open", count=2) if "lookup" in json.dumps(c.params["view"])]
        send(bot.post_interaction(lookup_form_submission(opened[-1].params["view"], "ann@example.com", "123", PORTAL)))

        # Live lookups with both configured tokens, one failing with 401 and one with 500s.
        send(bot.post_command(f"user ann@example.com ticket 123 portal {PORTAL}"))
        send(bot.post_command(f"user ann@example.com portal {EU_PORTAL}"))
        fake_hubspot.fault("/settings/v3/users/", 401, times=None)
        fake_hubspot.fault("/crm/v3/owners", 500, times=None)
        send(bot.post_command(f"user bob@example.com ticket 123 portal {PORTAL}"))

        # App Home, Slack failing and rate-limiting replies, strangers posting secrets unsigned.
        send(bot.post_event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"}))
        fake_slack.fail("chat.postMessage", status=500, times=2)
        send(bot.post_event(message_event(PASTES[0], channel="C0FLAKY")))
        send(bot.post_raw(PASTES[10].encode(), {"Content-Type": "application/x-www-form-urlencoded"}))
        send(bot.post_signed(PASTES[10].encode(), "application/json", secret="wrong"))
        send(bot.session.get(bot.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10))
        fake_slack.wait_for("views.publish")
        fake_slack.wait_for("chat.postEphemeral", count=2, timeout=30)
        assert wsgi.services.drain(timeout=30)
    finally:
        bot.stop()
        wsgi.services.close()

    slack_out = json.dumps([c.params for c in fake_slack.calls()], ensure_ascii=False)
    stored = _dump_database(postgres_url)
    logs = captured_logs.getvalue()

    # The flows really ran: replies, rows and logs exist, and pasted secrets were flagged.
    assert len(fake_slack.replies()) >= 2 * len(PASTES)
    assert "contains a secret" in slack_out and "diagnoses" in stored and "hsperm.request" in logs
    assert "Ann cannot view ticket 123" in slack_out

    assert _leaks(slack_out) == [], _debug_where(slack_out, PASTED_PAT)
    assert _leaks("\n".join(answers)) == [], "secret in an HTTP answer"
    assert _leaks(stored) == [], "secret in a stored row"
    assert _leaks(logs) == [], "secret in a log line"


def _dump_database(url: str) -> str:
    """Every row of every table in the test's schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )]
        out = []
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - names from the catalog
            out.append(f"{table}: {rows!r}")
    return "\n".join(out)


def _debug_where(haystack: str, value: str) -> str:
    for reading in _readings(haystack):
        i = reading.find(value)
        if i >= 0:
            return reading[max(0, i - 300): i + 80]
    return ""


def test_pasted_mrkdwn_controls_never_reach_a_reply(http_bot, fake_slack):
    """The checklist templates render with autoescape off (mrkdwn, not HTML): a paste must still
    not be able to ping a channel, mention someone or plant a link through any field."""
    controls = ["<!channel>", "<!here>", "<!everyone>", "<@U0EVIL>", "<https://evil.example|HubSpot login>"]
    paste = (
        f"You do not have permissions to view object type ObjectTypeId{{legacyObjectType={controls[0]}}} in portal "
        f"{PORTAL} (requires one of [{', '.join(controls)}, tickets-read]): Forbidden. correlationId={controls[1]}\n"
        + json.dumps({"status": "error", "category": "MISSING_SCOPES", "correlationId": controls[2],
                      "message": f"This app hasn't been granted all required scopes to make this call. {controls[3]}",
                      "errors": [{"context": {"requiredGranularScopes": controls}}]})
    )
    http_bot.post_event(message_event(paste))
    http_bot.post_command(paste)
    fake_slack.wait_for("chat.postMessage")
    fake_slack.wait_for("webhook")
    out = json.dumps([c.params for c in fake_slack.replies()])
    assert "HubSpot" in out
    for control in controls:
        assert control not in out and control.replace("|", "\\|") not in out
    assert "<https://evil" not in out and "<!" not in out
