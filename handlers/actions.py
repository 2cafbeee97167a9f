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

from bot.blocks import ACTION_SHARE, diagnosis_message, notice_message, problem_message
from bot.services import Services


def register(app: App, services: Services) -> None:
    def on_share(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
        logger: Logger,
    ) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        team_id = context.team_id or (body.get("team") or {}).get("id") or ""
        share(services, str(action.get("value") or ""), user, team_id, respond, client, logger)

    app.action(ACTION_SHARE)(on_share)


def share(
    services: Services, record_id: str, user: str, team_id: str, respond: Respond, client: WebClient, logger: Logger
) -> None:
    try:
        record = services.store.get_diagnosis(record_id, team_id)
        if record is None or (record.user_id and record.user_id != user):
            respond(
                replace_original=False,
                **notice_message("I can't find that diagnosis any more. Run `/hsperm` again to share it.").kwargs(),
            )
            return
        message = diagnosis_message(
            record.diagnosis,
            intro=f"<@{user}> shared this hsperm diagnosis",
            lookup_available=services.lookup_available,
            lookup_value=record.id,
        )
        posted = False
        if record.source == "shortcut" and record.channel_id and record.thread_ts:
            # From the message shortcut: answer under the message it was about.
            try:
                client.chat_postMessage(
                    channel=record.channel_id,
                    thread_ts=record.thread_ts,
                    unfurl_links=False,
                    **message.kwargs(),
                )
                posted = True
            except SlackApiError as exc:
                logger.info("sharing in the thread failed (%s); posting in the channel", exc.response.get("error"))
        if not posted:
            respond(response_type="in_channel", replace_original=False, **message.kwargs())
        respond(delete_original=True)
    except Exception:
        logger.exception("sharing a diagnosis failed")
        respond(replace_original=False, **problem_message().kwargs())
