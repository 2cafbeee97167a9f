"""Shared fixtures. The fake servers register theirs as pytest plugins."""

pytest_plugins = ["tests.fakes.slack", "tests.fakes.hubspot"]
