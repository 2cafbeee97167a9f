"""Pasted errors in conversations: answer HubSpot errors in the thread, stay silent on everything else.

Most messages in a developer channel mention HubSpot, tokens or 403s without being a HubSpot
error; the engine decides, and a channel only hears from hsperm when it is one. A DM or a mention
is a question to hsperm, so those always get an answer, even if it is "I found no error".

The matcher runs before the ack and is cheap; the diagnosis, the store and the reply run on the
work queue after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from logging import Logger
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.diagnosis import diagnosis_message, no_error_message, notice_message, problem_message
from bot.messages.mrkdwn import Message
from bot.pasted_text import has_pasted_content
from bot.services import Services, message_text
from handlers.context import defer, origin, services
from handlers.lookup import explain_paste
from knowledge import Diagnosis

#: Subtypes that are a person (or an allowed bot) saying something new. Edits (message_changed),
#: deletions, joins and the like are not pastes.
NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share", "bot_message"}


def register(app: App) -> None:
    app.event("message", matchers=[is_paste])(on_message)
    app.event("app_mention")(on_mention)
    # Catch-all, registered last: every other message event must still get HTTP 200, or Slack
    # retries it and eventually disables the subscription.
    app.event("message")(ignore)


def is_paste(event: dict[str, Any], context: BoltContext) -> bool:
    """Cheap checks that run before the ack; the diagnosis itself runs after it."""
    if event.get("subtype") not in NEW_MESSAGE_SUBTYPES or event.get("hidden"):
        return False
    bot_id = event.get("bot_id")
    if bot_id or event.get("subtype") == "bot_message":
        # Our own replies never; other bots only when configured (alerting integrations).
        return bot_id != context.bot_id and services(context).settings.answers_bot(bot_id)
    user = event.get("user")
    if not user or user == context.bot_user_id:
        return False
    return has_pasted_content(event)


def on_message(event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger) -> None:
    defer(context, answer, services(context), _Where.of(event, context, mentioned=False), event, client, logger,
          admitted=True)


def on_mention(event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger) -> None:
    if is_paste(event, context):
        defer(context, answer, services(context), _Where.of(event, context, mentioned=True), event, client, logger,
              admitted=True)


def ignore() -> None:
    """Edits, deletions, joins, other bots: acknowledged and dropped."""


@dataclass(frozen=True)
class _Where:
    """The message being answered and the thread the answer goes to."""

    team_id: str
    channel: str
    ts: str
    thread_ts: str | None
    in_dm: bool
    mentioned: bool
    bot_id: str | None

    @classmethod
    def of(cls, event: dict[str, Any], context: BoltContext, *, mentioned: bool) -> _Where:
        ts = event.get("ts") or ""
        in_dm = event.get("channel_type") == "im"
        return cls(
            team_id=origin(context).team_id,
            channel=event.get("channel") or "",
            ts=ts,
            thread_ts=event.get("thread_ts") or (None if in_dm else ts),
            in_dm=in_dm,
            mentioned=mentioned,
            bot_id=context.bot_id,
        )

    @property
    def asked(self) -> bool:
        """A DM or a mention is a question to hsperm: it always gets an answer."""
        return self.in_dm or self.mentioned

    @property
    def source(self) -> str:
        return "dm" if self.in_dm else "mention" if self.mentioned else "message"


def answer(services: Services, where: _Where, event: dict[str, Any], client: WebClient, logger: Logger) -> None:
    try:
        _answer(services, where, event, client, logger)
    except Exception:
        logger.exception("diagnosing a message in %s failed", where.channel)
        if where.asked:
            _post(client, where, problem_message(), logger)


def _answer(services: Services, where: _Where, event: dict[str, Any], client: WebClient, logger: Logger) -> None:
    pasted = services.files.read_message(event, client)  # whole snippets and files: network, after the ack
    text = pasted.text
    diagnosis, about_parent = services.diagnose(text), False
    diagnosed, diagnosed_ts = text, where.ts  # what the answer is about, for HubSpot's records
    parent_ts = event.get("thread_ts")
    if not diagnosis.is_hubspot and where.mentioned and parent_ts and parent_ts != where.ts:
        # "@hsperm" under someone's paste: diagnose the message that started the thread.
        parent = _thread_parent(client, where, parent_ts, logger)
        if parent:
            diagnosis, about_parent = services.diagnose(parent), True
            diagnosed, diagnosed_ts = parent, parent_ts
    if not diagnosis.is_hubspot:
        if where.asked:
            note = pasted.unreadable_note and not about_parent and notice_message(pasted.unreadable_note)
            _post(client, where, note or no_error_message(None if about_parent else text), logger)
        return
    # In a DM every message is its own question; elsewhere one answer per error per thread.
    claim_key = where.thread_ts or where.ts
    if not services.answer_once(where.team_id, where.channel, claim_key, diagnosis):
        if about_parent:
            _post(client, where, notice_message(":point_up: I've already answered this error in this thread."), logger)
        return
    if _reply(services, where, event, diagnosis, client, logger):
        logger.info(
            "answered a %s error in %s (thread %s, rule %s)", diagnosis.kind, where.channel, claim_key, diagnosis.rule_id
        )
        explain_paste(services, diagnosis, diagnosed, diagnosed_ts, lambda m: _post(client, where, m, logger), logger)
    else:
        # Nobody saw an answer, so a later paste of the same error deserves one.
        services.forget_answer(where.team_id, where.channel, claim_key, diagnosis)


def _reply(
    services: Services, where: _Where, event: dict[str, Any], diagnosis: Diagnosis, client: WebClient, logger: Logger
) -> bool:
    record_id = services.remember(
        where.team_id,
        diagnosis,
        where.source,
        user_id=event.get("user"),
        channel_id=where.channel,
        message_ts=where.ts,
        thread_ts=where.thread_ts,
        public=event.get("channel_type") == "channel",
    )
    reply = diagnosis_message(diagnosis, lookup_available=services.lookup_available, lookup_value=record_id)
    return _post(client, where, reply, logger)


def _thread_parent(client: WebClient, where: _Where, thread_ts: str, logger: Logger) -> str | None:
    try:
        response = client.conversations_replies(channel=where.channel, ts=thread_ts, limit=1, inclusive=True)
    except SlackApiError as exc:
        logger.warning("could not read the thread in %s: %s", where.channel, exc.response.get("error"))
        return None
    messages = response.get("messages") or []
    if not messages or messages[0].get("bot_id") == where.bot_id:
        return None
    return message_text(messages[0]) or None


def _post(client: WebClient, where: _Where, message: Message, logger: Logger) -> bool:
    try:
        client.chat_postMessage(
            channel=where.channel, thread_ts=where.thread_ts, unfurl_links=False, unfurl_media=False, **message.kwargs()
        )
        return True
    except SlackApiError as exc:
        # not_in_channel, ratelimited past the Retry-After cap or the reply deadline, ...: nothing to
        # show anyone, so one line says the reply was given up; the caller releases its claim.
        logger.warning("gave up replying in %s: %s", where.channel, exc.response.get("error"))
    except Exception as exc:
        logger.warning("gave up replying in %s: %s", where.channel, type(exc).__name__)
    return False
