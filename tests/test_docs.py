"""The README's settings table and .env.example list the same variables, so neither drifts."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table_and_in_env_example() -> None:
    example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configure") : readme.index("## Run")]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.M))
    assert documented == example
    assert len(example) >= 10
