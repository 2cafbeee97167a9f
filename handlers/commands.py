"""`/hsperm`: a private checklist for a paste, a form for long pastes, live lookup and help.

Every branch acks first (Slack gives a slash command 3 seconds) and does the rest through the
command's response_url, which works in any channel or DM without the bot being a member.
"""

from __future__ import annotations

import json
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import (
    diagnose_modal,
    diagnosis_message,
    help_message,
    no_error_message,
    notice_message,
    problem_message,
)
from bot.services import Services
from handlers.lookup import KEYWORDS, answer_user_command

COMMAND = "/hsperm"
HELP_WORDS = {"help", "-h", "--help", "?", "h"}
#: Sub-commands that later changes implement (approvals).
NOT_YET = {
    "pending": "Pending fix requests",
    "audit": "The audit log",
}
#: `/hsperm user …` has at most a person and two keyword/value pairs; longer text is a paste.
USER_MAX_WORDS = 8


def register(app: App, services: Services) -> None:
    def on_command(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
        logger: Logger,
    ) -> None:
        text = (command.get("text") or "").strip()
        first_word = text.split(maxsplit=1)[0].lower() if text else ""
        if not text:
            ack()
            _open_form(client, command, respond, logger)
        elif first_word in HELP_WORDS:
            ack(**help_message(lookup_available=services.lookup_available).kwargs())
        elif first_word == "user" and is_subcommand(text, first_word):
            answer_user_command(services, text[len(first_word) :], ack, respond, client, logger)
        elif is_subcommand(text, first_word):
            ack(**notice_message(f"{NOT_YET[first_word]} is not enabled in this workspace yet.").kwargs())
        else:
            ack()
            _diagnose_paste(services, text, command, respond, context, logger)

    app.command(COMMAND)(on_command)


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
    return first_word in NOT_YET and len(words) == 1


def _open_form(client: WebClient, command: dict[str, Any], respond: Respond, logger: Logger) -> None:
    # The channel travels in private_metadata so the answer can come back where the form was opened.
    metadata = json.dumps({"channel": command.get("channel_id")})
    try:
        client.views_open(trigger_id=command["trigger_id"], view=diagnose_modal(metadata))
    except SlackApiError as exc:
        logger.warning("could not open the /hsperm form: %s", exc.response.get("error"))
        respond(**notice_message("I couldn't open the form. Paste the error right after `/hsperm` instead.").kwargs())


def _diagnose_paste(
    services: Services,
    text: str,
    command: dict[str, Any],
    respond: Respond,
    context: BoltContext,
    logger: Logger,
) -> None:
    try:
        diagnosis = services.diagnose(text)
        if not diagnosis.is_hubspot:
            respond(**no_error_message(text).kwargs())
            return
        record_id = services.remember(
            context.team_id or command.get("team_id"),
            diagnosis,
            "command",
            user_id=command.get("user_id"),
            channel_id=command.get("channel_id"),
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
