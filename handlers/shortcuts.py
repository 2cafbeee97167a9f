"""Message shortcut "Diagnose HubSpot error": a private checklist for any message, even old ones."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.messages.diagnosis import busy_message, diagnosis_message, no_error_message, problem_message
from bot.messages.ids import SHORTCUT_CALLBACK_ID
from bot.services import Services, message_text
from handlers.context import Origin, defer, origin, services
from handlers.lookup import explain_paste


def register(app: App) -> None:
    app.shortcut(SHORTCUT_CALLBACK_ID)(on_shortcut)


def on_shortcut(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext, logger: Logger) -> None:
    ack()
    message = shortcut.get("message") or {}
    if not defer(context, diagnose_message, services(context), origin(context), message, respond, logger):
        respond(**busy_message().kwargs())


def diagnose_message(
    services: Services, origin: Origin, message: dict[str, Any], respond: Respond, logger: Logger
) -> None:
    text = message_text(message)
    try:
        diagnosis = services.diagnose(text)
        if not diagnosis.is_hubspot:
            respond(**no_error_message().kwargs())
            return
        record_id = services.remember(
            origin.team_id,
            diagnosis,
            "shortcut",
            user_id=origin.user_id,
            channel_id=origin.channel_id,
            message_ts=message.get("ts"),
            thread_ts=message.get("thread_ts") or message.get("ts"),
        )
        reply = diagnosis_message(
            diagnosis, share_value=record_id, lookup_available=services.lookup_available, lookup_value=record_id
        )
        respond(response_type="ephemeral", **reply.kwargs())
    except Exception:
        logger.exception("the message shortcut failed")
        respond(**problem_message().kwargs())
        return
    explain_paste(
        services,
        diagnosis,
        text,
        message.get("ts"),
        lambda m: respond(response_type="ephemeral", replace_original=False, **m.kwargs()),
        logger,
    )
