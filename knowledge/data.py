"""Loads knowledge's own TOML and template files, once. The only I/O knowledge/ does."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def load_toml(relative_path: str) -> dict[str, Any]:
    with (PACKAGE_DIR / relative_path).open("rb") as handle:
        return tomllib.load(handle)


@cache
def load_toml_dir(relative_dir: str) -> tuple[dict[str, Any], ...]:
    """Every TOML file of a folder, in name order, so rules can be split by family."""
    folder = PACKAGE_DIR / relative_dir
    return tuple(load_toml(f"{relative_dir}/{path.name}") for path in sorted(folder.glob("*.toml")))


def once(build: Callable[[], T]) -> Callable[[], T]:
    """`functools.cache` for a builder of compiled patterns, which must run once per process.

    `cache` lets every thread that arrives before the first result is stored run the builder
    too. Each compiled pattern is added to linre's shared Set, so eight work threads meeting
    their first paste together built the rules eight times, recompiled a Set that kept growing
    (600 patterns became 4,000) and stalled every thread for seconds: the work queue filled and
    pastes were refused. Here the first caller builds and the others wait for its result.
    """
    lock = threading.RLock()  # re-entrant: a builder may call another built once
    done: list[T] = []

    @wraps(build)
    def get() -> T:
        if done:
            return done[0]
        with lock:
            if not done:
                done.append(build())
            return done[0]

    return get
