"""Live lookup in Slack: `/hsperm user …`, and the "Check this user's access" button and its form.

A lookup makes several HubSpot calls and may wait out a 429, far beyond Slack's 3 seconds, so
every path acks first with something to look at and runs the lookup on the work queue: the
command shows a progress line that the report later replaces through its response_url; the form
closes at once and the report comes privately where its button was clicked. What people type is
parsed in `bot.lookup.command`, without Slack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.approvals import propose
from bot.hubspot import HubSpotConfigError
from bot.lookup import LookupInputError, PermissionReport
from bot.lookup.command import UsageError, UserQuery, parse_user_command, validate_lookup_form
from bot.messages.approvals import fix_blocks
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
    forensics_message,
    lookup_failed_message,
    lookup_not_configured_message,
    lookup_progress_message,
    lookup_report_message,
    lookup_usage_message,
)
from bot.messages.modals import lookup_modal
from bot.messages.mrkdwn import Message
from bot.services import Services
from handlers.approvals import may_read, portal_roles
from handlers.context import Origin, defer, origin, services
from handlers.views import deliver_privately
from knowledge import Diagnosis

#: private_metadata is capped at 3000 characters; the error's required names share it with the channel.
_METADATA_LIMIT = 2900
#: Where the form shows each field's error (Slack's `errors` are keyed by block id).
_FORM_BLOCKS = {"email": LOOKUP_EMAIL_BLOCK, "ticket_id": LOOKUP_TICKET_BLOCK, "portal_id": LOOKUP_PORTAL_BLOCK}


class SlackUserError(Exception):
    """A mentioned Slack user whose email hsperm cannot learn; the message is trusted mrkdwn."""


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
    who: Origin | None = None,
) -> Message:
    """Run the lookup and render it; HubSpot failures are already inside the report as problems.

    With `who`, the read policy is checked first (a refusal is the answer, and is audited).
    """
    lookup = services.lookup
    if lookup is None:
        return lookup_not_configured_message()
    if who is not None and not (decision := may_read(services, who, "lookup")).allowed:
        return notice_message(decision.reason)
    # Identical lookups in flight run once; every asker (each allowed above) gets the same report.
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
    return lookup_report_message(report, fixes=_fixes(services, report, logger))


def _fixes(services: Services, report: PermissionReport, logger: Logger) -> list[Block]:
    """The report's fix buttons, when requests can reach approvers; never at the cost of the report."""
    if not services.fixes_available or services.lookup is None:
        return []
    proposals = propose(report, roles=portal_roles(services, report.portal_id, logger))
    return fix_blocks(proposals, email=report.email, ticket_id=report.ticket_id, portal_id=report.portal_id)


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
    if not defer(context, _run_user_command, svc, origin(context), query, portal, respond, client, logger):
        svc.lookup_limits.release(portal)
        respond(replace_original=True, response_type="ephemeral", **busy_message().kwargs())


def _run_user_command(
    services: Services,
    who: Origin,
    query: UserQuery,
    portal: str | None,
    respond: Respond,
    client: WebClient,
    logger: Logger,
) -> None:
    with services.lookup_limits.slot(portal):
        _user_command_report(services, who, query, respond, client, logger)


def _user_command_report(
    services: Services, who: Origin, query: UserQuery, respond: Respond, client: WebClient, logger: Logger
) -> None:
    try:
        if not (decision := may_read(services, who, "lookup")).allowed:
            message = notice_message(decision.reason)
        else:
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
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    context: BoltContext,
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
        ack(response_action="errors", errors={_FORM_BLOCKS[field]: message for field, message in errors.items()})
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
            logger=logger, who=origin,
        )  # fmt: skip
    deliver_privately(client, origin.channel_id, origin.user_id, message, message, logger)


def open_lookup_form(
    services: Services,
    origin: Origin,
    record_id: str,
    trigger_id: str,
    respond: Respond,
    client: WebClient,
    logger: Logger,
) -> None:
    if services.lookup is None:
        respond(replace_original=False, **lookup_not_configured_message().kwargs())
        return
    if not (decision := may_read(services, origin, "lookup")).allowed:
        respond(replace_original=False, **notice_message(decision.reason).kwargs())
        return
    try:
        record = services.store.get_diagnosis(record_id, origin.team_id)
    except Exception:
        logger.exception("could not load diagnosis %s for a lookup", record_id)
        respond(replace_original=False, **problem_message().kwargs())
        return
    if record is None:
        respond(
            replace_original=False,
            **notice_message(
                "I can't find that diagnosis any more. Ask directly instead: "
                "`/hsperm user ann@example.com ticket 123 portal 342871372`."
            ).kwargs(),
        )
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


# -- after a pasted error's checklist ----------------------------------------------------------


def explain_paste(
    services: Services,
    diagnosis: Diagnosis,
    text: str,
    pasted_ts: str | None,
    send: Callable[[Message], object],
    logger: Logger,
) -> None:
    """Runs after the checklist was sent (never inside an ack): what HubSpot's records say changed.

    A token error gets the security log's rotations, scope changes and uninstalls around the
    paste's time; a DAILY 429 gets the account's budget. Nothing is sent for other kinds, without
    a HubSpot token, or for a portal hsperm has no token for; a failure here is logged only, since
    the person already has their answer.
    """
    try:
        found = services.explain_paste(diagnosis, text, slack_time(pasted_ts))
    except Exception:
        logger.warning("reading HubSpot's records for a %s paste failed", diagnosis.kind, exc_info=True)
        return
    if found is not None and not found.empty:
        send(forensics_message(found))


def slack_time(ts: str | None) -> datetime | None:
    """A Slack message ts (`1732789000.000200`) as a UTC time."""
    try:
        return datetime.fromtimestamp(float(ts or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return None
