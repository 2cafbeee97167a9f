"""Dependencies misbehaving: PostgreSQL dropping or never answering, seen through the real HTTP path.

PostgreSQL is reached through a `TcpProxy` on 127.0.0.1 that the test cuts or hangs, so only
this test's connections suffer; the shared server is never restarted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.fakes.slack import BotServer, FakeSlack, event_envelope, message_event, sign
from tests.fakes.tcp_proxy import TcpProxy

PASTE = (
    "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
    "342871372 (requires one of [tickets-read, tickets-access]): Forbidden."
)
#: Seconds Slack waits for an ack before it shows the user an error and retries.
SLACK_PATIENCE = 3
LOG_FILE = ("sync started\nbatch 1 ok\nbatch 2 ok\nbatch 3 ok\nbatch 4 ok\nbatch 5 ok\nERROR " + PASTE + "\n").encode()


@pytest.fixture
def pg_proxy(postgres_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.for_url(postgres_url).start()
    yield proxy
    proxy.stop()


def until(condition, what: str, timeout: float = 20.0) -> None:
    """Wait for something the app does on its own (reconnect attempts), or fail naming it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def deliver_like_slack(bot: BotServer, event: dict, event_id: str, attempts: int = 20, first_retry: int = 0) -> int:
    """Post an event and, as Slack does, re-send it (same id, X-Slack-Retry-Num) until it gets 200."""
    for attempt in range(first_retry, first_retry + attempts):
        status = bot.post_event(event, event_id=event_id, retry_num=attempt or None).status_code
        if status == 200:
            return attempt
        assert status == 503, f"unexpected status {status}"
        time.sleep(0.25)
    raise AssertionError(f"{event_id} was refused {attempts} times")


def answers_for(fake: FakeSlack, ts: str) -> int:
    return sum(1 for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == ts)


def test_a_paste_acked_before_postgres_drops_is_answered_once_it_is_back(start_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_bot(pg_proxy.url(postgres_url))
    gate = fake_slack.hold("files.info")  # keeps the acked paste's work waiting until the database is gone
    event = message_event("sync log", subtype="file_share", files=[fake_slack.add_file("F0DROP", LOG_FILE)])
    try:
        assert bot.post_event(event, event_id="EvDROP1").status_code == 200  # acked: Slack will not resend it
        pg_proxy.cut()
    finally:
        gate.set()
    until(lambda: pg_proxy.refused >= 2, "the app trying to reach the database again")
    pg_proxy.restore()
    [reply] = fake_slack.wait_for("chat.postMessage", timeout=30)
    assert "HubSpot user permission" in reply.text
    fake_slack.settle()
    assert answers_for(fake_slack, event["ts"]) == 1


def test_after_a_drop_every_paste_is_answered_exactly_once(start_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_bot(pg_proxy.url(postgres_url))
    before = [message_event(PASTE, channel="C0BEFORE") for _ in range(3)]
    during = [message_event(PASTE, channel="C0DURING") for _ in range(3)]
    for n, event in enumerate(before):
        deliver_like_slack(bot, event, f"EvBEFORE{n}")
    fake_slack.wait_for("chat.postMessage", 3)
    pg_proxy.cut()
    # Nothing can be claimed while the database is gone: Slack is told to retry (503), never a silent 200.
    assert {bot.post_event(event, event_id=f"EvDURING{n}").status_code for n, event in enumerate(during)} == {503}
    pg_proxy.restore()
    for n, event in enumerate(during):
        deliver_like_slack(bot, event, f"EvDURING{n}", first_retry=1)
    fake_slack.wait_for("chat.postMessage", 6, timeout=30)
    fake_slack.settle()
    assert [answers_for(fake_slack, e["ts"]) for e in before + during] == [1] * 6


def test_a_database_that_never_answers_gets_503s_not_a_hung_ack(start_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_bot(pg_proxy.url(postgres_url), DATABASE_TIMEOUT_SECONDS="1")
    assert bot.get("/healthz").status_code == 200
    pg_proxy.hang()
    try:
        # Slack waits 3 s for an ack and a load balancer's health check about as long: the client
        # here is as patient as they are, no more. Before the deadlines both requests outlived it.
        health = bot.session.get(bot.url + "/healthz", timeout=SLACK_PATIENCE)
        assert health.status_code == 503
        assert health.json()["database"] == "unreachable"
        event = message_event(PASTE)
        body = json.dumps(event_envelope(event, "EvHUNG")).encode()
        headers = {"Content-Type": "application/json", **sign(body)}
        ack = bot.session.post(bot.url + "/slack/events", data=body, headers=headers, timeout=SLACK_PATIENCE)
        assert ack.status_code == 503
        assert fake_slack.replies() == []
    finally:
        pg_proxy.restore()
    deliver_like_slack(bot, event, "EvHUNG", first_retry=1)
    [reply] = fake_slack.wait_for("chat.postMessage", timeout=30)
    assert reply.params["thread_ts"] == event["ts"]
    until(lambda: bot.get("/healthz").status_code == 200, "/healthz recovering")
