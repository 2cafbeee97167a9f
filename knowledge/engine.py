"""Placeholder while the rule engine is written (replaced in the next commit)."""

from knowledge.model import Diagnosis

MAX_INPUT_CHARS = 64 * 1024


def diagnose(text: str) -> Diagnosis:
    return Diagnosis(kind="not_hubspot")
