"""Turn whatever a person pasted into one plain line the rules can read.

Pastes arrive Slack-escaped, with smart quotes from forums, as escaped JSON inside log lines, as
Python reprs and Node `util.inspect` dumps, inside code fences, line-wrapped. Rules are written
against plain text with straight quotes and single spaces, so every shape is reduced to that here.
Each step is a single linear pass.
"""

from __future__ import annotations

import html
import re

# The substitutions here are the only Python `re` patterns in knowledge/ (tests/test_linear.py
# holds the list). Not for their syntax: a paste of `\\"` or `<https://x>` repeated holds a match
# every few characters, and google-re2's Python binding has no C-level replace, so on RE2 each
# match costs a Python call (10 to 65 ms for 64 KB, against 1 to 4 ms here). Each stays linear in
# Python because no repetition can be retried from another start over the same characters:
# every attempt starts at a `<`, a backtick or the first backslash of a run (`(?<!\\)`), and its
# repetitions stop at the next `<`, or are bounded, or are a backslash run followed by one
# character checked once.

#: Slack wraps links as <url|label> or <url>; mentions and channels as <@U…>, <#C…|name>.
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^<>|\s]{1,2000})(?:\|([^<>]{0,500}))?>")
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]{2,20}\|([^<>]{0,100})>")
_QUOTES = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "\u02bc": "'", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ", "\u2007": " ",
        "\u202f": " ", "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None, "\u2026": "...",
    }
)
_QUOTED = tuple(chr(code) for code in _QUOTES)
#: Escapes of a JSON string inside a JSON string (inside a log line …): drop every backslash
#: before a quote or slash; turn escaped newlines and tabs into spaces.
_BACKSLASH_QUOTE = re.compile(r"(?<!\\)\\+(?=[\"'/])")
_BACKSLASH_WS = re.compile(r"(?<!\\)\\+[ntr]")
_UNICODE_ESCAPE = re.compile(r"(?<!\\)\\+u([0-9a-fA-F]{4})")
#: bounded: at most 23 characters are read from each start
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]{0,20}")


def _unicode(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char.isprintable() else " "


def normalize(text: str) -> str:
    """Plain text with Slack markup, entities, escapes and smart quotes undone; lines kept."""
    if "<" in text:
        text = _SLACK_LINK.sub(lambda m: m.group(1), text)
        text = _SLACK_CHANNEL.sub(lambda m: "#" + m.group(1), text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():  # every character _QUOTES replaces is beyond ASCII
        # str.translate looks every character up; most pastes hold one or two of these kinds
        for char in _QUOTED:
            if char in text:
                text = text.replace(char, _QUOTES[ord(char)] or "")
    if "\\" in text:
        text = _UNICODE_ESCAPE.sub(_unicode, text)
        text = _BACKSLASH_QUOTE.sub("", text)
        text = _BACKSLASH_WS.sub(" ", text)
    if "`" in text:
        text = _FENCE.sub(" ", text).replace("`", "")
    return text


def flatten(text: str) -> str:
    """One line, single spaces: a message wrapped inside JSON reads as one sentence again."""
    return " ".join(text.split())  # str.split() splits on exactly what Python's `\s` matches
