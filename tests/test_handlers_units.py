"""Handler functions called directly, with Slack's objects as spec'd mocks: no servers, no Bolt.

The quickest layer for what a listener does with what it is given; tests/test_slack_*.py cover the
same surfaces through Bolt's dispatch, and tests/e2e/ over HTTP.
"""

from __future__ import annotations

import logging
import threading
from unittest.mock import create_autospec

import pytest
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.config import load_settings
from bot.services import build_services
from bot.work import WorkQueue
from handlers import commands
from handlers.actions import share
from handlers.context import ORIGIN, SERVICES, Origin
from handlers.views import deliver_privately
from knowledge import diagnose
from tests.samples import TICKET_ERROR

LOG = logging.getLogger("test")


@pytest.fixture
def services(tmp_path):
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'units.db'}"}, dotenv=False)
    services = build_services(settings)
    yield services
    services.close()


def _slack_error(error: str) -> SlackApiError:
    response = create_autospec(SlackResponse, instance=True)
    response.get.side_effect = {"ok": False, "error": error}.get
    return SlackApiError(error, response)


def test_sharing_someone_elses_diagnosis_is_refused_and_nothing_is_posted(services):
    record_id = services.remember("T1", diagnose(TICKET_ERROR), "command", user_id="U0OWNER", channel_id="C1")
    respond, client = create_autospec(Respond, instance=True), create_autospec(WebClient, instance=True)
    share(services, Origin("T1", "U0OTHER", "C1"), record_id, respond, client, LOG)
    respond.assert_called_once()
    assert "can't find that diagnosis" in respond.call_args.kwargs["text"]
    client.chat_postMessage.assert_not_called()


def test_a_private_answer_falls_back_to_a_dm_where_the_bot_cannot_post():
    client = create_autospec(WebClient, instance=True)
    client.chat_postEphemeral.side_effect = _slack_error("not_in_channel")
    message = commands.notice_message("hello")
    deliver_privately(client, "C0SECRET", "U0ALICE", message, message, LOG)
    client.chat_postMessage.assert_called_once()
    assert client.chat_postMessage.call_args.kwargs["channel"] == "U0ALICE"


def test_when_the_work_queue_is_full_a_paste_is_acked_and_the_user_told_to_retry(services):
    services.work = WorkQueue(workers=1, backlog=0)
    release = threading.Event()
    services.work.submit(release.wait)  # the only slot is taken
    context = BoltContext({SERVICES: services, ORIGIN: Origin("T1", "U0ALICE", "C1")})
    ack, respond = create_autospec(Ack, instance=True), create_autospec(Respond, instance=True)
    try:
        commands.on_command(ack, {"text": TICKET_ERROR}, respond, create_autospec(WebClient, instance=True), context, LOG)
    finally:
        release.set()
    ack.assert_called_once()
    assert ack.call_args.kwargs == {}  # an empty ack: the answer comes through the response_url
    respond.assert_called_once()
    assert "busy" in respond.call_args.kwargs["text"]
