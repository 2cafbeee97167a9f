"""Pasted errors in conversations: answer HubSpot errors in the thread, stay silent on everything else.

Most messages in a developer channel mention HubSpot, tokens or 403s without being a HubSpot
error; the engine decides, and a channel only hears from hsperm when it is one. A DM or a mention
is a question to hsperm, so those always get an answer, even if it is "I found no error".
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import Message, diagnosis_message, no_error_message, notice_message, problem_message
from bot.pasted_text import has_pasted_content
from bot.services import Services, message_text

#: Subtypes that are a person (or an allowed bot) saying something new. Edits (message_changed),
#: deletions, joins and the like are not pastes.
NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message"}


def register(app: App, services: Services) -> None:
    def is_paste(event: dict[str, Any], context: BoltContext) -> bool:
        return is_new_message_worth_reading(event, context, services)

    def on_message(event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger) -> None:
        answer(services, event, context, client, logger, mentioned=False)

    def on_mention(event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger) -> None:
        if is_new_message_worth_reading(event, context, services):
            answer(services, event, context, client, logger, mentioned=True)

    app.event("message", matchers=[is_paste])(on_message)
    app.event("app_mention")(on_mention)
    # Catch-all, registered last: every other message event must still get HTTP 200, or Slack
    # retries it and eventually disables the subscription.
    app.event("message")(ignore)


def ignore() -> None:
    """Edits, deletions, joins, other bots: acknowledged and dropped."""


def is_new_message_worth_reading(event: dict[str, Any], context: BoltContext, services: Services) -> bool:
    """Cheap checks that run before the ack; the diagnosis itself runs after it."""
    if event.get("subtype") not in NEW_MESSAGE_SUBTYPES or event.get("hidden"):
        return False
    bot_id = event.get("bot_id")
    if bot_id or event.get("subtype") == "bot_message":
        # Our own replies never; other bots only when configured (alerting integrations).
        return bot_id != context.bot_id and services.settings.answers_bot(bot_id)
    user = event.get("user")
    if not user or user == context.bot_user_id:
        return False
    return has_pasted_content(event)


def answer(
    services: Services,
    event: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    logger: Logger,
    *,
    mentioned: bool,
) -> None:
    channel = event.get("channel") or ""
    team_id = context.team_id or event.get("team") or ""
    ts = event.get("ts") or ""
    in_dm = event.get("channel_type") == "im"
    thread_ts = event.get("thread_ts") or (None if in_dm else ts)
    asked = in_dm or mentioned
    try:
        # Let acks in flight (this event's own included) go out before any CPU work; see AckGate.
        services.acks.yield_to_acks()
        pasted = services.files.read_message(event, client)  # whole snippets and files: network, after the ack
        text = pasted.text
        diagnosis = services.diagnose(text)
        about_parent = False
        if not diagnosis.is_hubspot and mentioned and event.get("thread_ts") and event["thread_ts"] != ts:
            # "@hsperm" under someone's paste: diagnose the message that started the thread.
            parent = _thread_parent(client, channel, event["thread_ts"], context, logger)
            if parent:
                diagnosis, about_parent = services.diagnose(parent), True
        if not diagnosis.is_hubspot:
            if asked:
                note = pasted.unreadable_note and not about_parent and notice_message(pasted.unreadable_note)
                _post(client, channel, thread_ts, note or no_error_message(None if about_parent else text), logger)
            return

        # In a DM every message is its own question; elsewhere one answer per error per thread.
        services.acks.yield_to_acks()
        claim_key = thread_ts or ts
        if not services.answer_once(team_id, channel, claim_key, diagnosis):
            if about_parent:
                already = notice_message(":point_up: I've already answered this error in this thread.")
                _post(client, channel, thread_ts, already, logger)
            return
        record_id = services.remember(
            team_id,
            diagnosis,
            "dm" if in_dm else "mention" if mentioned else "message",
            user_id=event.get("user"),
            channel_id=channel,
            message_ts=ts,
            thread_ts=thread_ts,
            public=event.get("channel_type") == "channel",
        )
        services.acks.yield_to_acks()
        reply = diagnosis_message(diagnosis, lookup_available=services.lookup_available, lookup_value=record_id)
        services.acks.yield_to_acks()
        if _post(client, channel, thread_ts, reply, logger):
            logger.info(
                "answered a %s error in %s (thread %s, rule %s)", diagnosis.kind, channel, claim_key, diagnosis.rule_id
            )
        else:
            # Nobody saw an answer, so a later paste of the same error deserves one.
            services.forget_answer(team_id, channel, claim_key, diagnosis)
    except Exception:
        logger.exception("diagnosing a message in %s failed", channel)
        if asked:
            _post(client, channel, thread_ts, problem_message(), logger)


def _thread_parent(client: WebClient, channel: str, thread_ts: str, context: BoltContext, logger: Logger) -> str | None:
    try:
        response = client.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
    except SlackApiError as exc:
        logger.warning("could not read the thread in %s: %s", channel, exc.response.get("error"))
        return None
    messages = response.get("messages") or []
    if not messages or messages[0].get("bot_id") == context.bot_id:
        return None
    return message_text(messages[0]) or None


def _post(client: WebClient, channel: str, thread_ts: str | None, message: Message, logger: Logger) -> bool:
    try:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message.kwargs()
        )
        return True
    except SlackApiError as exc:
        # not_in_channel, ratelimited after retries, ...: nothing to show anyone, so log and move on.
        logger.warning("could not reply in %s: %s", channel, exc.response.get("error"))
    except Exception as exc:
        logger.warning("could not reply in %s: %s", channel, type(exc).__name__)
    return False
