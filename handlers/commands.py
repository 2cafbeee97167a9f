"""`/hsperm`: a private checklist for a paste, a form for long pastes, live lookup and help.

Every branch acks first (Slack gives a slash command 3 seconds) and does the rest on the work
queue, answering through the command's response_url, which works in any channel or DM without the
bot being a member.
"""

from __future__ import annotations

import json
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.lookup.command import KEYWORDS
from bot.messages.diagnosis import busy_message, diagnosis_message, no_error_message, notice_message, problem_message
from bot.messages.help import help_message
from bot.messages.modals import diagnose_modal
from bot.services import Services
from handlers.approvals import approver_command
from handlers.context import Origin, defer, origin, services
from handlers.lookup import answer_user_command, explain_paste

COMMAND = "/hsperm"
HELP_WORDS = {"help", "-h", "--help", "?", "h"}
#: Sub-commands for approvers only: `/hsperm pending`, `/hsperm audit [N]`.
APPROVER_WORDS = ("pending", "audit")
#: `/hsperm user …` has at most a person and two keyword/value pairs; longer text is a paste.
USER_MAX_WORDS = 8


def register(app: App) -> None:
    app.command(COMMAND)(on_command)


def on_command(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext, logger: Logger
) -> None:
    text = (command.get("text") or "").strip()
    first_word = text.split(maxsplit=1)[0].lower() if text else ""
    if first_word in HELP_WORDS:
        ack(**help_message(lookup_available=services(context).lookup_available).kwargs())
    elif first_word == "user" and is_subcommand(text, first_word):
        answer_user_command(text[len(first_word) :], ack, respond, client, context, logger)
    elif text and is_subcommand(text, first_word):
        ack()
        job = (services(context), origin(context), first_word, text.split()[1:], respond, client, logger)
        if not defer(context, approver_command, *job):
            respond(**busy_message().kwargs())
    else:
        ack()
        if text:
            started = defer(context, _diagnose_paste, services(context), origin(context), text, respond, logger)
        else:
            started = defer(context, _open_form, origin(context), command.get("trigger_id") or "", respond, client, logger)
        if not started:
            respond(**busy_message().kwargs())


def is_subcommand(text: str, first_word: str) -> bool:
    """`user <email|@user> …`, `pending`, `audit`; a paste that merely starts with "User" is a paste.

    `user` alone, or short text naming an email, a mention or `ticket`/`portal`, is the lookup (so a
    typo gets the usage line, not "no HubSpot error found").
    """
    words = text.split()
    if first_word == "user":
        if len(words) == 1:
            return True
        named = "@" in words[1] or any(w.lower().partition("=")[0].rstrip(":") in KEYWORDS for w in words[1:])
        return len(words) <= USER_MAX_WORDS and named
    if first_word == "audit":
        return len(words) == 1 or (len(words) == 2 and words[1].isdigit())
    return first_word in APPROVER_WORDS and len(words) == 1


def _open_form(origin: Origin, trigger_id: str, respond: Respond, client: WebClient, logger: Logger) -> None:
    # The channel travels in private_metadata so the answer can come back where the form was opened.
    metadata = json.dumps({"channel": origin.channel_id})
    try:
        client.views_open(trigger_id=trigger_id, view=diagnose_modal(metadata))
    except SlackApiError as exc:
        logger.warning("could not open the /hsperm form: %s", exc.response.get("error"))
        respond(**notice_message("I couldn't open the form. Paste the error right after `/hsperm` instead.").kwargs())


def _diagnose_paste(services: Services, origin: Origin, text: str, respond: Respond, logger: Logger) -> None:
    try:
        diagnosis = services.diagnose(text)
        if not diagnosis.is_hubspot:
            respond(**no_error_message(text).kwargs())
            return
        record_id = services.remember(
            origin.team_id, diagnosis, "command", user_id=origin.user_id, channel_id=origin.channel_id
        )
        message = diagnosis_message(
            diagnosis,
            paste=text,
            share_value=record_id,
            lookup_available=services.lookup_available,
            lookup_value=record_id,
        )
        respond(response_type="ephemeral", **message.kwargs())
    except Exception:
        logger.exception("/hsperm failed")
        respond(**problem_message().kwargs())
        return
    explain_paste(
        services,
        diagnosis,
        text,
        None,
        lambda m: respond(response_type="ephemeral", replace_original=False, **m.kwargs()),
        logger,
    )
