"""Events over real HTTP: what only a socket shows (Slack's retries, concurrency, signatures,
several instances on one database, Slack's Web API failing)."""

from __future__ import annotations

import logging
import threading
import time

from tests.fakes.slack import message_event
from tests.samples import TICKET_ERROR


def test_the_same_event_retried_three_times_gets_one_reply(http_bot, fake_slack):
    event = message_event(TICKET_ERROR)
    statuses = [http_bot.post_event(event, event_id="EvRETRY1").status_code]
    statuses += [http_bot.post_event(event, event_id="EvRETRY1", retry_num=n).status_code for n in (1, 2, 3)]
    assert statuses == [200, 200, 200, 200]
    fake_slack.wait_for("chat.postMessage")
    http_bot.drain()
    assert len(fake_slack.replies()) == 1


def test_retries_arriving_at_the_same_moment_get_one_reply(http_bot, fake_slack):
    event = message_event(TICKET_ERROR)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def deliver(retry: int) -> None:
        barrier.wait()
        statuses.append(http_bot.post_event(event, event_id="EvRACE1", retry_num=retry or None).status_code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    fake_slack.wait_for("chat.postMessage")
    http_bot.drain()
    assert len(fake_slack.replies()) == 1


def test_malformed_requests_get_an_error_status_not_a_crash(http_bot, fake_slack):
    assert http_bot.post_signed(b"{not json", "application/json").status_code == 400  # unparseable
    assert http_bot.post_signed(b"", "application/json").status_code == 404  # signed, but nothing to handle
    assert http_bot.get("/healthz").status_code == 200


def test_a_forged_signature_is_rejected_with_401_and_no_reply(http_bot, fake_slack):
    response = http_bot.post_event(message_event(TICKET_ERROR), secret="not-the-signing-secret")
    assert response.status_code == 401
    http_bot.drain()
    assert fake_slack.replies() == []


def test_a_six_minute_old_timestamp_is_rejected_with_401_and_no_reply(http_bot, fake_slack):
    response = http_bot.post_event(message_event(TICKET_ERROR), timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    http_bot.drain()
    assert fake_slack.replies() == []


def test_an_unsigned_request_is_rejected(http_bot, fake_slack):
    response = http_bot.post_raw(b'{"type": "event_callback"}', {"Content-Type": "application/json"})
    assert response.status_code == 401


def test_url_verification_echoes_the_challenge(http_bot):
    body = b'{"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'
    response = http_bot.post_signed(body, "application/json")
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


def test_slack_rate_limits_and_server_errors_are_retried(start_http_bot, fake_slack, slack_sleeps):
    http_bot = start_http_bot(SLACK_RETRY_AFTER_CAP_SECONDS="10")  # a Retry-After over the cap is not waited
    fake_slack.fail("chat.postMessage", status=429, times=1, retry_after=7)
    fake_slack.fail("chat.postMessage", status=500, times=1)
    http_bot.post_event(message_event(TICKET_ERROR))
    fake_slack.wait_for("chat.postMessage", count=3)
    http_bot.drain()
    assert len(fake_slack.calls("chat.postMessage")) == 3  # 429, 500, then the reply that got through
    assert len(slack_sleeps) == 2
    assert 7 <= slack_sleeps[0] < 8  # Retry-After honoured (plus jitter), recorded instead of slept


def test_when_slack_keeps_failing_nothing_crashes_and_the_next_paste_is_answered(http_bot, fake_slack, caplog):
    fake_slack.fail("chat.postMessage", status=500, times=4)  # the first try and its three retries
    first = message_event(TICKET_ERROR)
    http_bot.post_event(first)
    fake_slack.wait_for("chat.postMessage", count=4)
    http_bot.drain()
    assert "Traceback" not in caplog.text
    assert all(call.failed for call in fake_slack.calls("chat.postMessage"))
    # Nobody saw an answer, so the same error pasted again in that thread gets one.
    http_bot.post_event(message_event(TICKET_ERROR, thread_ts=first["ts"]))
    calls = fake_slack.wait_for("chat.postMessage", count=5)
    assert calls[-1].params["thread_ts"] == first["ts"] and not calls[-1].failed


def test_not_in_channel_is_logged_not_raised(http_bot, fake_slack, caplog):
    fake_slack.error("chat.postMessage", "not_in_channel")
    caplog.set_level(logging.WARNING)
    http_bot.post_event(message_event(TICKET_ERROR))
    fake_slack.wait_for("chat.postMessage")
    http_bot.drain()
    assert "not_in_channel" in caplog.text
    assert "Traceback" not in caplog.text


def test_several_instances_on_postgresql_answer_once(start_http_bot, fake_slack, postgres_url):
    """Two instances behind a load balancer get the event and its retry at the same moment."""
    instances = [start_http_bot(postgres_url), start_http_bot(postgres_url)]
    event = message_event(TICKET_ERROR)
    barrier = threading.Barrier(4)

    def deliver(index: int) -> None:
        barrier.wait()
        instances[index % 2].post_event(event, event_id="EvLB0001", retry_num=index or None)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_for("chat.postMessage")
    # the same error pasted again in the thread reaches the other instance
    instances[1].post_event(message_event(TICKET_ERROR, thread_ts=event["ts"]))
    for instance in instances:
        instance.drain()
    assert len(fake_slack.replies()) == 1
