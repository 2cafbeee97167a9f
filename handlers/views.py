"""The `/hsperm` form: validate, close it at once, then answer privately where it was opened.

An ephemeral message needs the bot in the channel; when it is not (a DM between people, a
channel it was never invited to), the answer comes as a DM from hsperm instead.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.diagnosis import diagnosis_message, no_error_message, problem_message
from bot.messages.ids import MODAL_ACTION_ID, MODAL_BLOCK_ID, MODAL_CALLBACK_ID
from bot.messages.mrkdwn import Message
from bot.services import Services
from handlers.context import Origin, defer, origin, services


def register(app: App) -> None:
    app.view(MODAL_CALLBACK_ID)(on_submit)


def on_submit(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext, logger: Logger) -> None:
    text = pasted_text(view)
    if not text.strip():
        ack(response_action="errors", errors={MODAL_BLOCK_ID: "Paste the error text first."})
        return
    ack()
    defer(context, answer_form, services(context), origin(context), text, client, logger)


def pasted_text(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return ((values.get(MODAL_BLOCK_ID) or {}).get(MODAL_ACTION_ID) or {}).get("value") or ""


def answer_form(services: Services, origin: Origin, text: str, client: WebClient, logger: Logger) -> None:
    try:
        diagnosis = services.diagnose(text)
        if diagnosis.is_hubspot:
            record_id = services.remember(
                origin.team_id, diagnosis, "modal", user_id=origin.user_id, channel_id=origin.channel_id
            )
            lookup = {"lookup_available": services.lookup_available, "lookup_value": record_id}
            ephemeral = diagnosis_message(diagnosis, paste=text, share_value=record_id, **lookup)
            direct = diagnosis_message(diagnosis, paste=text, **lookup)
        else:
            ephemeral = direct = no_error_message(text)
    except Exception:
        logger.exception("the /hsperm form failed")
        ephemeral = direct = problem_message()
    deliver_privately(client, origin.channel_id, origin.user_id, ephemeral, direct, logger)


def deliver_privately(
    client: WebClient, channel: str | None, user: str, ephemeral: Message, direct: Message, logger: Logger
) -> None:
    """Ephemeral where the form was opened; a DM where the bot cannot post (not a member, no channel)."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, **ephemeral.kwargs())
            return
        except SlackApiError as exc:
            logger.info("ephemeral answer in %s failed (%s); sending a DM", channel, exc.response.get("error"))
    try:
        # Posting to a user id lands in the app's Messages tab with that user.
        client.chat_postMessage(channel=user, unfurl_links=False, **direct.kwargs())
    except SlackApiError as exc:
        logger.warning("could not deliver a private answer: %s", exc.response.get("error"))
