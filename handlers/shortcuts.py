"""Message shortcut "Diagnose HubSpot error": a private checklist for any message, even old ones."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.blocks import SHORTCUT_CALLBACK_ID, diagnosis_message, no_error_message, problem_message
from bot.services import Services, message_text


def register(app: App, services: Services) -> None:
    def on_shortcut(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext, logger: Logger) -> None:
        ack()
        diagnose_message(services, shortcut, respond, context, logger)

    app.shortcut(SHORTCUT_CALLBACK_ID)(on_shortcut)


def diagnose_message(
    services: Services, shortcut: dict[str, Any], respond: Respond, context: BoltContext, logger: Logger
) -> None:
    message = shortcut.get("message") or {}
    try:
        diagnosis = services.diagnose(message_text(message))
        if not diagnosis.is_hubspot:
            respond(**no_error_message().kwargs())
            return
        record_id = services.remember(
            context.team_id or (shortcut.get("team") or {}).get("id"),
            diagnosis,
            "shortcut",
            user_id=(shortcut.get("user") or {}).get("id"),
            channel_id=(shortcut.get("channel") or {}).get("id"),
            message_ts=message.get("ts"),
            thread_ts=message.get("thread_ts") or message.get("ts"),
        )
        reply = diagnosis_message(
            diagnosis,
            share_value=record_id,
            lookup_available=services.lookup_available,
            lookup_value=record_id,
        )
        respond(response_type="ephemeral", **reply.kwargs())
    except Exception:
        logger.exception("the message shortcut failed")
        respond(**problem_message().kwargs())
