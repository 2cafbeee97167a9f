"""Shared fixtures. The fake servers register theirs as pytest plugins."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

pytest_plugins = ["tests.fakes.slack", "tests.fakes.hubspot"]

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_admin_url() -> str:
    return os.environ.get("HSPERM_TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Every test gets its own schema, so runs (and tests) never see each other's rows. PostgreSQL is
    part of the test environment: when it is missing the test fails and says how to fix that.
    """
    import psycopg

    admin = _pg_admin_url()
    schema = f"hsperm_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {admin} ({str(exc).strip().splitlines()[0]}). Start it, or point "
            "HSPERM_TEST_DATABASE_URL at one (the store tests run on SQLite and PostgreSQL).",
            pytrace=False,
        )
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in admin else "?"
        yield f"{admin}{separator}options={quote(f'-csearch_path={schema}')}"
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs twice: on a SQLite file and on a private PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def open_test_store(database_url: str) -> Iterator[Callable[[], object]]:
    """Factory for store instances on the same database (several "instances"), closed afterwards."""
    from bot.store import open_store

    opened = []

    def make():
        store = open_store(database_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def log_lines(fake_slack) -> Iterator[io.StringIO]:
    """Every log record of the test, formatted as production formats it (JSON, scrubbed)."""
    import logging

    from bot.config import load_settings
    from bot.logs import configure_logging
    from tests.fakes.slack import bot_env

    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    stream = io.StringIO()
    root.handlers = []
    settings = load_settings(bot_env(fake_slack, "sqlite:///unused.db", LOG_LEVEL="DEBUG"), dotenv=False)
    configure_logging(settings, stream=stream)
    try:
        yield stream
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
