"""Loads knowledge's own TOML and template files, once. The only I/O knowledge/ does."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

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
