"""App Home: what hsperm does, how to use it, and the latest diagnoses in the workspace."""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import HOME_RECENT_LIMIT, home_view
from bot.services import Services


def register(app: App, services: Services) -> None:
    def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext, logger: Logger) -> None:
        # The Messages tab fires the same event; only the Home tab has something to draw.
        if event.get("tab", "home") != "home":
            return
        publish_home(services, event.get("user") or "", client, context, logger)

    app.event("app_home_opened")(on_home_opened)


def publish_home(services: Services, user: str, client: WebClient, context: BoltContext, logger: Logger) -> None:
    try:
        recent = services.store.recent_diagnoses(context.team_id or "", user, limit=HOME_RECENT_LIMIT)
    except Exception as exc:
        # Still draw the how-to; the history comes back with the database.
        logger.warning("App Home without history: the store failed (%s)", type(exc).__name__)
        recent = []
    try:
        client.views_publish(user_id=user, view=home_view(recent, lookup_available=services.lookup_available))
    except SlackApiError as exc:
        logger.warning("could not publish App Home for %s: %s", user, exc.response.get("error"))
