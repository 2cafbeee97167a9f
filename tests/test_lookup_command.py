"""What `/hsperm user …` and the lookup form accept, as people type it into Slack (no Slack needed)."""

from __future__ import annotations

import pytest

from bot.lookup.command import UsageError, UserQuery, parse_user_command, validate_lookup_form

# -- /hsperm user arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("ann@example.com", UserQuery(email="ann@example.com")),
        ("ann@example.com ticket 123", UserQuery(email="ann@example.com", ticket_id="123")),
        (
            "ann@example.com portal 342871372 ticket 123",
            UserQuery(email="ann@example.com", ticket_id="123", portal_id="342871372"),
        ),
        (
            "ticket 123 portal 342871372 ann@example.com",
            UserQuery(email="ann@example.com", ticket_id="123", portal_id="342871372"),
        ),
        ("<mailto:ann@example.com|ann@example.com> ticket=123", UserQuery(email="ann@example.com", ticket_id="123")),
        ("  ann@example.com   Ticket:  #123  ", UserQuery(email="ann@example.com", ticket_id="123")),
        ("<@U0ANN> ticket 123", UserQuery(slack_user="U0ANN", ticket_id="123")),
        ("<@W0ANN|ann.lee>", UserQuery(slack_user="W0ANN")),
        (
            "ann@example.com ticket <https://app.hubspot.com/contacts/342871372/record/0-5/123|the ticket>",
            UserQuery(email="ann@example.com", ticket_id="123", portal_id="342871372"),
        ),
        (
            "ann@example.com ticket https://app-eu1.hubspot.com/contacts/26000001/record/0-5/77 portal 26000001",
            UserQuery(email="ann@example.com", ticket_id="77", portal_id="26000001"),
        ),
        (
            "ann@example.com portal 1 ticket https://app.hubspot.com/contacts/342871372/record/0-5/123",
            UserQuery(email="ann@example.com", ticket_id="123", portal_id="1"),  # a named portal wins
        ),
    ],
)
def test_user_arguments_are_parsed(args, expected):
    assert parse_user_command(args) == expected


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ("", "Name the person"),
        ("ticket 123", "Name the person"),
        ("ann@example.com bob@example.com", "don't know what 'bob@example.com' means"),
        ("ann@example.com ticket", "`ticket` needs a value"),
        ("ann@example.com ticket 1 ticket 2", "`ticket` is given twice"),
        ("ann ticket 123", "is not an email address"),
        ("@ann ticket 123", "as plain text"),
        ("ann@example.com ticket twelve", "is not a ticket id"),
        ("ann@example.com portal hub-one", "is not a portal id"),
        ("<@U0ANN", "is not an email address"),
    ],
)
def test_bad_user_arguments_say_what_is_wrong(args, fragment):
    with pytest.raises(UsageError) as caught:
        parse_user_command(args)
    assert fragment in str(caught.value)


# -- the form ----------------------------------------------------------------------------------


def test_a_valid_form_becomes_a_query():
    query, errors = validate_lookup_form(" ann@example.com ", "https://app.hubspot.com/contacts/1/record/0-5/123", "")
    assert errors == {}
    assert query == UserQuery(email="ann@example.com", ticket_id="123")


def test_every_bad_field_gets_its_own_inline_error():
    query, errors = validate_lookup_form("ann", "x1", "p")
    assert query is None
    assert set(errors) == {"email", "ticket_id", "portal_id"}  # which block shows each: test_slack_lookup
    assert all(0 < len(message) <= 150 for message in errors.values())
