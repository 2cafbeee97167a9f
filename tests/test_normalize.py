"""Paste shapes are reduced to plain text before any rule reads them."""

from __future__ import annotations

from knowledge.normalize import flatten, normalize


def test_slack_escapes_and_links() -> None:
    text = "see <https://api.hubapi.com/crm/v3/objects/tickets|api.hubapi.com> &lt;b&gt; a &amp; b in <#C123|general>"
    assert flatten(normalize(text)) == "see https://api.hubapi.com/crm/v3/objects/tickets <b> a & b in #general"


def test_smart_quotes_become_straight() -> None:
    assert normalize("{“status”:“error”} it’s") == "{\"status\":\"error\"} it's"


def test_escaped_json_inside_a_log_line() -> None:
    text = 'API error: 401 - {\\"status\\":\\"error\\",\\"message\\":\\"Authentication credentials\\nnot found\\"}'
    assert flatten(normalize(text)) == 'API error: 401 - {"status":"error","message":"Authentication credentials not found"}'


def test_doubly_escaped_and_python_repr_quotes() -> None:
    assert normalize("'message': 'This app hasn\\'t been granted'") == "'message': 'This app hasn't been granted'"
    assert normalize('\\\\\\"portalId\\\\\\":123') == '"portalId":123'


def test_code_fences_and_inline_code() -> None:
    assert flatten(normalize("```json\n{\"a\": 1}\n``` and `400 BAD_REFRESH_TOKEN`")) == '{"a": 1} and 400 BAD_REFRESH_TOKEN'


def test_unicode_escapes_and_invisible_characters() -> None:
    assert normalize("hasn\\u0027t\u200b\u00a0x") == "hasn't x"


def test_line_wrapped_message_reads_as_one_sentence() -> None:
    text = '"message":"Authentication credentials not found. \nThis API supports both API Key and OAuth 2.0'
    assert "not found. This API supports" in flatten(normalize(text))
