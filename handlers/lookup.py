"""Live lookup in Slack: `/hsperm user …`, and the "Check this user's access" button and its form.

A lookup makes several HubSpot calls and may wait out a 429, far beyond Slack's 3 seconds, so
every path acks first with something to look at and runs the lookup on the work queue: the
command shows a progress line that the report later replaces through its response_url; the form
closes at once and the report comes privately where its button was clicked. Parsing is pure (`parse_user_command`,
`validate_lookup_form`) so the odd things people type are tested without Slack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.hubspot import HubSpotConfigError
from bot.lookup import LookupInputError, normalize_email, normalize_portal_id, normalize_ticket_id
from bot.messages.diagnosis import busy_message, notice_message, problem_message
from bot.messages.ids import (
    ACTION_LOOKUP,
    LOOKUP_EMAIL_ACTION,
    LOOKUP_EMAIL_BLOCK,
    LOOKUP_MODAL_CALLBACK_ID,
    LOOKUP_PORTAL_ACTION,
    LOOKUP_PORTAL_BLOCK,
    LOOKUP_TICKET_ACTION,
    LOOKUP_TICKET_BLOCK,
)
from bot.messages.lookup import (
    lookup_failed_message,
    lookup_not_configured_message,
    lookup_progress_message,
    lookup_report_message,
    lookup_usage_message,
)
from bot.messages.modals import lookup_modal
from bot.messages.mrkdwn import Message
from bot.services import Services
from handlers.context import Origin, defer, origin, services
from handlers.views import deliver_privately

KEYWORDS = ("ticket", "portal")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")
#: A word, where Slack's `<…|label with spaces>` markup counts as part of one.
_WORD = re.compile(r"[^\s<]*<[^<>]*>\S*|\S+")
#: Slack's link markup around a pasted URL: `<https://…>` or `<https://…|label>`.
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
#: The portal in a ticket's record URL (`/contacts/<portal>/record/0-5/<id>`, or the legacy route).
_PORTAL_IN_TICKET_URL = re.compile(r"/contacts/(\d{1,20})/(?:record/0-5|ticket)/\d")
#: private_metadata is capped at 3000 characters; the error's required names share it with the channel.
_METADATA_LIMIT = 2900


class UsageError(ValueError):
    """`/hsperm user …` that cannot be understood; the message says what was wrong, in user terms."""


class SlackUserError(Exception):
    """A mentioned Slack user whose email hsperm cannot learn; the message is trusted mrkdwn."""


@dataclass(frozen=True)
class UserQuery:
    """Who to look up (an email, or a Slack user whose email is read later) and where."""

    email: str | None = None
    slack_user: str | None = None
    ticket_id: str | None = None
    portal_id: str | None = None


def parse_user_command(args: str) -> UserQuery:
    """The words after `/hsperm user`: the person first or anywhere, `ticket`/`portal` in any order.

    Accepts what Slack actually sends: `<mailto:a@b|a@b>`, `<@U123|ann>`, `<https://…|…>` around a
    ticket URL, `ticket=123`, `ticket: #123`. A ticket URL also gives the portal when none is named.
    """
    words = _WORD.findall(args)
    person: str | None = None
    values: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index]
        key, sep, inline = word.partition("=")
        key = key.lower().rstrip(":")
        if key not in KEYWORDS:
            if person is not None:
                raise UsageError(f"I don't know what {word!r} means here.")
            person, index = word, index + 1
            continue
        if sep and inline:
            value, index = inline, index + 1
        elif index + 1 < len(words):
            value, index = words[index + 1], index + 2
        else:
            raise UsageError(f"`{key}` needs a value after it.")
        if key in values:
            raise UsageError(f"`{key}` is given twice.")
        values[key] = value
    if person is None:
        raise UsageError("Name the person: their HubSpot login email, or a Slack @mention.")

    ticket_text = _unlink(values.get("ticket", "")).lstrip("#")
    portal_text = values.get("portal")
    if portal_text is None and (found := _PORTAL_IN_TICKET_URL.search(ticket_text)):
        portal_text = found.group(1)
    try:
        ticket_id = normalize_ticket_id(ticket_text or None)
        portal_id = normalize_portal_id(portal_text)
        mention = _MENTION.fullmatch(person)
        if mention:
            return UserQuery(slack_user=mention.group(1), ticket_id=ticket_id, portal_id=portal_id)
        if person.startswith("@"):
            raise UsageError(
                f"Slack sent {person} as plain text, so I can't tell who that is: pick the person from "
                "Slack's @ list, or give their email."
            )
        return UserQuery(email=normalize_email(person), ticket_id=ticket_id, portal_id=portal_id)
    except LookupInputError as exc:
        raise UsageError(str(exc)) from None


def _unlink(text: str) -> str:
    link = _SLACK_LINK.fullmatch(text)
    return link.group(1) if link else text


def validate_lookup_form(email: str, ticket: str, portal: str) -> tuple[UserQuery | None, dict[str, str]]:
    """The form's fields -> a query, or Slack's `errors` (block id -> short message shown inline)."""
    errors: dict[str, str] = {}
    query: dict[str, str | None] = {}
    checks = (
        ("email", LOOKUP_EMAIL_BLOCK, email, normalize_email, "Enter the user's HubSpot login email, e.g. ann@example.com."),
        ("ticket_id", LOOKUP_TICKET_BLOCK, ticket, normalize_ticket_id, "Enter a ticket id (digits) or its URL."),
        ("portal_id", LOOKUP_PORTAL_BLOCK, portal, normalize_portal_id, "The portal is a number (Hub ID), or empty."),
    )
    for name, block, value, normalize, message in checks:
        try:
            query[name] = normalize((value or "").strip())
        except LookupInputError:
            errors[block] = message
    if errors:
        return None, errors
    return UserQuery(**query), {}


# -- Slack users -------------------------------------------------------------------------------


def slack_user_email(client: WebClient, user_id: str) -> str:
    """The mentioned person's email from `users.info` (needs users:read and users:read.email)."""
    who = f"<@{user_id}>"
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("user_not_found", "users_not_found"):
            raise SlackUserError(f"Slack has no user {who} in this workspace. Give their HubSpot email instead.") from None
        if error == "missing_scope":
            raise SlackUserError(
                "hsperm may not read Slack profiles: add the `users:read` and `users:read.email` scopes to the "
                "Slack app and reinstall it, or give the person's email instead."
            ) from None
        raise SlackUserError(f"Slack would not say who {who} is (`{error}`). Give their HubSpot email instead.") from None
    if user.get("is_bot") or user.get("id") == "USLACKBOT":
        raise SlackUserError(f"{who} is a bot: only people have HubSpot logins.")
    email = (user.get("profile") or {}).get("email")
    if not email:
        raise SlackUserError(
            f"Slack did not give me {who}'s email: hsperm needs the `users:read.email` scope, and some "
            "accounts (guests, bots) have none. Give their HubSpot email instead: `/hsperm user ann@example.com …`."
        )
    return str(email)


def default_portal(services: Services) -> str | None:
    """The portal a lookup without `portal` goes to, when the settings alone say so (progress text)."""
    tokens = services.settings.hubspot_portal_tokens
    if not services.settings.hubspot_access_token and len(tokens) == 1:
        return next(iter(tokens))
    return None


# -- the lookup itself -------------------------------------------------------------------------


def lookup_reply(
    services: Services,
    email: str,
    *,
    ticket_id: str | None,
    portal_id: str | None,
    required: tuple[str, ...] = (),
    logger: Logger,
) -> Message:
    """Run the lookup and render it; HubSpot failures are already inside the report as problems."""
    lookup = services.lookup
    if lookup is None:
        return lookup_not_configured_message()
    # Identical lookups in flight run once; every asker gets the same report.
    key = ("lookup", email.strip().lower(), ticket_id, portal_id, tuple(required))
    try:
        report = services.lookup_limits.once(
            key, lambda: lookup.lookup(email, ticket_id=ticket_id, portal_id=portal_id, required=required)
        )
    except (LookupInputError, HubSpotConfigError) as exc:
        return lookup_failed_message(str(exc))
    except Exception:
        logger.exception("a live lookup failed")
        return problem_message()
    return lookup_report_message(report)


def answer_user_command(
    args: str, ack: Ack, respond: Respond, client: WebClient, context: BoltContext, logger: Logger
) -> None:
    """`/hsperm user …`: ack with the progress line, then replace it with the report."""
    svc = services(context)
    if svc.lookup is None:
        ack(**lookup_not_configured_message().kwargs())
        return
    try:
        query = parse_user_command(args)
    except UsageError as exc:
        ack(**lookup_usage_message(str(exc)).kwargs())
        return
    portal = query.portal_id or default_portal(svc)
    refusal = svc.lookup_limits.admit(origin(context).user_id, portal)
    if refusal is not None:
        ack(response_type="ephemeral", **notice_message(refusal.text).kwargs())
        return
    progress = lookup_progress_message(query.email, slack_user=query.slack_user, ticket_id=query.ticket_id, portal_id=portal)
    ack(response_type="ephemeral", **progress.kwargs())
    if not defer(context, _run_user_command, svc, query, portal, respond, client, logger):
        svc.lookup_limits.release(portal)
        respond(replace_original=True, response_type="ephemeral", **busy_message().kwargs())


def _run_user_command(
    services: Services, query: UserQuery, portal: str | None, respond: Respond, client: WebClient, logger: Logger
) -> None:
    with services.lookup_limits.slot(portal):
        _user_command_report(services, query, respond, client, logger)


def _user_command_report(services: Services, query: UserQuery, respond: Respond, client: WebClient, logger: Logger) -> None:
    try:
        email = query.email or slack_user_email(client, query.slack_user or "")
        message = lookup_reply(services, email, ticket_id=query.ticket_id, portal_id=query.portal_id, logger=logger)
    except SlackUserError as exc:
        message = notice_message(str(exc))
    except Exception:
        logger.exception("/hsperm user failed")
        message = problem_message()
    respond(replace_original=True, response_type="ephemeral", **message.kwargs())


# -- the button and its form -------------------------------------------------------------------


def form_metadata(channel: str | None, requires: tuple[str, ...]) -> str:
    """What the submission needs and Slack carries for us: where to answer, what the error required."""
    names: list[str] = []
    for name in requires:
        if len(json.dumps({"channel": channel, "requires": [*names, name]})) > _METADATA_LIMIT:
            break
        names.append(name)
    return json.dumps({"channel": channel, "requires": names})


def form_requires(view: dict[str, Any]) -> tuple[str, ...]:
    try:
        names = json.loads(view.get("private_metadata") or "{}").get("requires") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(str(name) for name in names if isinstance(name, str))


def form_values(view: dict[str, Any]) -> tuple[str, str, str]:
    values = (view.get("state") or {}).get("values") or {}

    def value(block: str, action: str) -> str:
        return ((values.get(block) or {}).get(action) or {}).get("value") or ""

    return (
        value(LOOKUP_EMAIL_BLOCK, LOOKUP_EMAIL_ACTION),
        value(LOOKUP_TICKET_BLOCK, LOOKUP_TICKET_ACTION),
        value(LOOKUP_PORTAL_BLOCK, LOOKUP_PORTAL_ACTION),
    )


def register(app: App) -> None:
    app.action(ACTION_LOOKUP)(on_lookup_button)
    app.view(LOOKUP_MODAL_CALLBACK_ID)(on_lookup_submit)


def on_lookup_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext,
    logger: Logger,
) -> None:
    ack()
    record_id, trigger_id = str(action.get("value") or ""), body.get("trigger_id") or ""
    job = (services(context), origin(context), record_id, trigger_id, respond, client, logger)
    if not defer(context, open_lookup_form, *job):
        respond(replace_original=False, **busy_message().kwargs())


def on_lookup_submit(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext, logger: Logger) -> None:
    query, errors = validate_lookup_form(*form_values(view))
    if query is None:
        ack(response_action="errors", errors=errors)
        return
    svc, who = services(context), origin(context)
    portal = query.portal_id or default_portal(svc)
    refusal = svc.lookup_limits.admit(who.user_id, portal)
    if refusal is not None:
        # The form stays open with the reason under the email field; nothing was queued.
        ack(response_action="errors", errors={LOOKUP_EMAIL_BLOCK: refusal.text})
        return
    ack()
    if not defer(context, _answer_form, svc, who, query, portal, form_requires(view), client, logger):
        svc.lookup_limits.release(portal)


def _answer_form(
    services: Services,
    origin: Origin,
    query: UserQuery,
    portal: str | None,
    requires: tuple[str, ...],
    client: WebClient,
    logger: Logger,
) -> None:
    with services.lookup_limits.slot(portal):
        message = lookup_reply(
            services, query.email or "", ticket_id=query.ticket_id, portal_id=query.portal_id, required=requires,
            logger=logger,
        )
    deliver_privately(client, origin.channel_id, origin.user_id, message, message, logger)


def open_lookup_form(
    services: Services, origin: Origin, record_id: str, trigger_id: str, respond: Respond, client: WebClient,
    logger: Logger,
) -> None:
    if services.lookup is None:
        respond(replace_original=False, **lookup_not_configured_message().kwargs())
        return
    try:
        record = services.store.get_diagnosis(record_id, origin.team_id)
    except Exception:
        logger.exception("could not load diagnosis %s for a lookup", record_id)
        respond(replace_original=False, **problem_message().kwargs())
        return
    if record is None:
        respond(replace_original=False, **notice_message(
            "I can't find that diagnosis any more. Ask directly instead: "
            "`/hsperm user ann@example.com ticket 123 portal 342871372`."
        ).kwargs())
        return
    diagnosis = record.diagnosis
    view = lookup_modal(
        portal_id=diagnosis.portal_id,
        object_type=diagnosis.object_type,
        requires=diagnosis.requires,
        private_metadata=form_metadata(origin.channel_id, diagnosis.requires),
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        logger.warning("could not open the lookup form: %s", exc.response.get("error"))
        respond(
            replace_original=False,
            **notice_message("I couldn't open the form. Ask directly: `/hsperm user ann@example.com ticket 123`.").kwargs(),
        )
