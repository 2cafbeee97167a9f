"""Issue 10, finding 6: secrets that travel encoded are masked like literal ones, in replies and logs.

Before: `redact` and the log filter matched literal text only, so `Bearer+…` (a form post),
`hapikey%3D…` (a logged URL), `\\/` inside a JSON string and `\\u`-escapes all passed through.
"""

from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest

from bot.logs import JsonFormatter, ScrubFilter, scrub
from bot.redact import redact, redact_values

PAT = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OAUTH = "CNLk4qf1MhICAQEYqeKgDiCQ5pwBKJqWDDIUWs8Qfx9cOCGgMbRsOtoXjt8aQPg6MAAA"
BEARER = "ya29.a0AfH6SMBx/Kq+Zt7rL0pQw9e8nV3cXyz=="
HAPIKEY = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
OWN = "8f742231b10e8888abcd99yyyzzz85a5"  # a signing secret: no pattern knows its shape


def _u(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


ENCODED = [
    (f"Authorization=Bearer+{OAUTH}", OAUTH),
    (f"body=Authorization%3A+Bearer+{quote_plus(BEARER)}", BEARER),
    (f"GET /contacts/v1/lists?hapikey%3D{HAPIKEY}", HAPIKEY),
    (f"url={quote('https://api.hubapi.com/x?hapikey=' + HAPIKEY, safe='')}", HAPIKEY),
    (f"double={quote(quote('hapikey=' + HAPIKEY))}", HAPIKEY),
    (f"Bearer%20{PAT}", PAT),
    (json.dumps({"Authorization": "Bearer " + BEARER}).replace("/", "\\/"), BEARER),
    (f'{{"token": "{_u(PAT)}"}}', PAT),
    (f'{{"auth": "\\u0042earer {OAUTH}"}}', OAUTH),
]


def _visible(text: str, value: str) -> bool:
    """Is `value` readable in `text` as written, URL-decoded (with or without `+` as space) or
    JSON-unescaped? Decoded here independently of bot.redact."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")
    readings = {text, unescaped}
    for _ in range(2):
        readings |= {unquote(r) for r in readings} | {unquote_plus(r) for r in readings}
    return any(value in r for r in readings)


@pytest.mark.parametrize(("text", "value"), ENCODED)
def test_encoded_secrets_are_masked(text: str, value: str) -> None:
    assert _visible(text, value)  # the test's own decoding finds it before redaction
    masked = redact(text)
    assert not _visible(masked, value)
    assert "[REDACTED" in masked


def test_text_without_secrets_is_left_exactly_as_it_was() -> None:
    for text in ["100% done", "a+b=c", 'json "\\u00e9t\\u00e9" ok', "path%2Fto%2Ffile", "Bearer of bad news"]:
        assert redact(text) == text


def test_known_values_are_masked_in_every_encoding() -> None:
    for text in (OWN, quote(OWN + "/"), json.dumps({"s": OWN}), _u(OWN)):
        assert OWN not in redact_values(text, [OWN]).replace("\\u", "")
        assert not _visible(redact_values(text, [OWN]), OWN)


def test_the_log_filter_masks_encoded_secrets_emails_and_response_urls() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter([OWN]))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hsperm.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sent %s", f"Authorization=Bearer+{OAUTH}&secret={quote(OWN)}")
        logger.warning("user %s", {"email": "ann.private@example.com", "response_url": "https://hooks.slack.com/commands/T1/2/abc"})
        logger.warning("payload %s", "response_url=https%3A%2F%2Fhooks.slack.com%2Factions%2FT1%2F9%2Fxyz")
        try:
            raise RuntimeError(f"failed with hapikey%3D{HAPIKEY}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for value in (OAUTH, OWN, HAPIKEY, "ann.private@example.com", "hooks.slack.com", "abc\"", "xyz"):
        assert not _visible(out, value), value
    assert len(out.splitlines()) == 4


def test_scrub_keeps_ordinary_text() -> None:
    assert scrub("portal 342871372, ticket 123: done") == "portal 342871372, ticket 123: done"
