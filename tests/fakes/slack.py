"""Fake Slack Web API (placeholder; the Slack app work fills it in)."""
