"""Buttons. `hsperm_share` turns a private checklist into a message everyone in the channel sees.

The button's value is the id of the stored diagnosis, never the paste: the shared message shows
the checklist only, so a token in the original paste cannot travel with it.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.diagnosis import busy_message, diagnosis_message, notice_message, problem_message
from bot.messages.ids import ACTION_SHARE
from bot.messages.mrkdwn import Message
from bot.services import Services
from bot.store import DiagnosisRecord
from handlers.context import Origin, defer, origin, services


def register(app: App) -> None:
    app.action(ACTION_SHARE)(on_share)


def on_share(
    ack: Ack, action: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext, logger: Logger
) -> None:
    ack()
    record_id = str(action.get("value") or "")
    if not defer(context, share, services(context), origin(context), record_id, respond, client, logger):
        respond(replace_original=False, **busy_message().kwargs())


def share(
    services: Services, origin: Origin, record_id: str, respond: Respond, client: WebClient, logger: Logger
) -> None:
    try:
        record = services.store.get_diagnosis(record_id, origin.team_id)
        if record is None or (record.user_id and record.user_id != origin.user_id):
            respond(
                replace_original=False,
                **notice_message("I can't find that diagnosis any more. Run `/hsperm` again to share it.").kwargs(),
            )
            return
        message = diagnosis_message(
            record.diagnosis,
            intro=f"<@{origin.user_id}> shared this hsperm diagnosis",
            lookup_available=services.lookup_available,
            lookup_value=record.id,
        )
        if not _post_under_original(record, message, client, logger):
            respond(response_type="in_channel", replace_original=False, **message.kwargs())
        respond(delete_original=True)
    except Exception:
        logger.exception("sharing a diagnosis failed")
        respond(replace_original=False, **problem_message().kwargs())


def _post_under_original(record: DiagnosisRecord, message: Message, client: WebClient, logger: Logger) -> bool:
    """From the message shortcut: answer under the message it was about, when Slack lets us."""
    if record.source != "shortcut" or not record.channel_id or not record.thread_ts:
        return False
    try:
        client.chat_postMessage(
            channel=record.channel_id, thread_ts=record.thread_ts, unfurl_links=False, **message.kwargs()
        )
        return True
    except SlackApiError as exc:
        logger.info("sharing in the thread failed (%s); posting in the channel", exc.response.get("error"))
        return False
