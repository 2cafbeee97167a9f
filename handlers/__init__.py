"""Thin Slack listeners, one module per surface, each with `register(app)`; `context` gives them
the services and the request's origin that `bot.app` puts into Bolt's context."""
