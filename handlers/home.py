"""App Home: what hsperm does, how to use it, and the latest diagnoses in the workspace."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals import PENDING
from bot.messages.approvals import home_approver_blocks
from bot.messages.home import HOME_RECENT_LIMIT, home_view
from bot.services import Services
from handlers.context import Origin, defer, origin, services


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext, logger: Logger) -> None:
    # The Messages tab fires the same event; only the Home tab has something to draw.
    if event.get("tab", "home") != "home":
        return
    defer(context, publish_home, services(context), origin(context), event.get("user") or "", client, logger)


def publish_home(services: Services, origin: Origin, user: str, client: WebClient, logger: Logger) -> None:
    try:
        recent = services.store.recent_diagnoses(origin.team_id, user, limit=HOME_RECENT_LIMIT)
    except Exception as exc:
        # Still draw the how-to; the history comes back with the database.
        logger.warning("App Home without history: the store failed (%s)", type(exc).__name__)
        recent = []
    approver_blocks = []
    try:
        if services.approvers.is_approver(user):
            waiting = services.store.fix_requests(team_id=origin.team_id, states=(PENDING,))
            approver_blocks = home_approver_blocks(waiting)
    except Exception as exc:
        logger.warning("App Home without pending requests: %s", type(exc).__name__)
    view = home_view(recent, lookup_available=services.lookup_available, approver_blocks=approver_blocks)
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        logger.warning("could not publish App Home for %s: %s", user, exc.response.get("error"))
