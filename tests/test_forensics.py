"""Forensics from HubSpot's records (bot/forensics.py), fed the shapes HubSpot's specs document.

Security records follow `HydratedCriticalAction` (the spec's example: `actingUser`, `createdAt`,
`id`, `infoUrl`, `objectId`, `type`, `userId`), logins `PublicLoginAudit`, usage the daily
private-apps row, seats `PublicSeat`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.forensics import (
    SECURITY_SCOPE,
    SECURITY_TIER_NOTE,
    ApiUsage,
    Finding,
    Gap,
    LoginRecord,
    Seat,
    SecurityEvent,
    daily_usage,
    gap_for_failure,
    last_successful_login,
    logged_in_since,
    missing_scope_gap,
    parse_records,
    parse_time,
    seat_check,
    token_forensics,
    user_forensics,
)

NOW = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)
PASTE = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
ANN, BOB, SUE = "9586504", "1296619", "7700001"
NAMES = {ANN: "Ann Lee", BOB: "Bob Ray", SUE: "Sue", "bob@example.com": "Bob Ray"}


def record(type_: str, at: str, *, by: str | None = BOB, email: str | None = "bob@example.com", obj: str | None = None):
    data = {
        "id": f"{type_}-{at}",
        "type": type_,
        "createdAt": at,
        "userId": int(by) if by else None,
        "actingUser": email,
        "objectId": obj,
        "infoUrl": "app.hubspot.com/settings/342871372/users",
        "ipAddress": "45.56.67.89",
        "countryCode": "ie",
        "regionCode": "d",
    }
    return {k: v for k, v in data.items() if v is not None}


def events(*rows):
    return parse_records(rows, SecurityEvent.from_api)


def login(at: str, ok: bool = True, user: str = ANN):
    return {
        "id": at,
        "loginAt": at,
        "loginSucceeded": ok,
        "userId": int(user),
        "email": "ann@example.com",
        "ipAddress": "45.56.67.89",
        "userAgent": "Mozilla/5.0",
    }


def logins(*rows):
    return parse_records(rows, LoginRecord.from_api)


# -- records ------------------------------------------------------------------------------------


def test_spec_example_record_parses_and_keeps_actor_and_object_apart() -> None:
    example = {
        "actingUser": "person3@testdomain.com",
        "countryCode": "ie",
        "createdAt": "2022-04-01T19:36:24.303Z",
        "id": "5432653",
        "infoUrl": "app.hubspot.com/settings/123/users",
        "ipAddress": "45.56.67.89",
        "objectId": "7654",
        "regionCode": "d",
        "type": "ADD_USER",
        "userId": 876,
    }
    event = SecurityEvent.from_api(example)
    assert event is not None
    assert (event.user_id, event.acting_email, event.object_id) == ("876", "person3@testdomain.com", "7654")
    assert event.created_at == datetime(2022, 4, 1, 19, 36, 24, 303000, tzinfo=UTC)


def test_records_missing_required_fields_are_dropped_not_fatal() -> None:
    rows = [{"id": "1", "type": "ADD_USER"}, {"createdAt": "2026-11-28T10:00:00Z", "type": "X"}, "junk", None]
    assert parse_records(rows, SecurityEvent.from_api) == []
    assert parse_records([{"loginAt": "2026-11-28T10:00:00Z"}], LoginRecord.from_api) == []


def test_parse_time_accepts_iso_and_epoch_milliseconds() -> None:
    assert parse_time("2026-11-28T14:01:00Z") == datetime(2026, 11, 28, 14, 1, tzinfo=UTC)
    assert parse_time(1795874460000) == datetime.fromtimestamp(1795874460, tz=UTC)
    assert parse_time("1795874460000") == parse_time(1795874460000)
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


# -- token forensics -------------------------------------------------------------------------


def test_rotation_before_the_paste_is_told_with_who_when_and_what_to_do() -> None:
    log = events(
        record("PRIVATE_APP_ACCESS_TOKEN_ROTATE", "2026-11-28T14:01:00Z", obj="2011410"),
        record("ADD_USER", "2026-11-28T14:02:00Z", obj=ANN),  # not a token event
        record("PRIVATE_APP_ACCESS_TOKEN_ROTATE", "2026-11-20T09:00:00Z"),  # 8 days before: outside
        record("PRIVATE_APP_ACCESS_TOKEN_DEACTIVATE", "2026-11-28T14:20:00Z"),  # after the paste: cannot explain it
    )
    result = token_forensics(log, kind="invalid_token", anchor=PASTE, now=NOW, names=NAMES)
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.text == (
        "A private app's access token (id 2011410) was rotated by Bob Ray at 14:01 UTC, 4 minutes before the paste."
    )
    assert "copy the app's current token" in finding.advice
    assert "Auth tab" in finding.advice
    assert finding.link == "https://app.hubspot.com/settings/342871372/users"
    assert result.scope_note == "the 7 days before the paste (21 Nov 14:05 UTC to 14:05 UTC)"


def test_events_just_after_the_paste_still_count_and_say_after() -> None:
    log = events(record("UNINSTALL_INTEGRATION", "2026-11-28T14:07:00Z", obj="77"))
    result = token_forensics(log, kind="expired_token", anchor=PASTE, now=NOW, names=NAMES)
    assert result.findings[0].text == "An app (id 77) was uninstalled by Bob Ray at 14:07 UTC, 2 minutes after the paste."
    assert "install it again" in result.findings[0].advice


def test_the_apps_own_record_is_marked_when_its_id_is_known() -> None:
    log = events(record("PRIVATE_APP_SCOPE_GROUPS_UPDATE", "2026-11-27T10:00:00Z", obj="2011410"))
    result = token_forensics(log, kind="missing_scopes", anchor=NOW, now=NOW, pasted=False, app_id="2011410", names=NAMES)
    assert result.findings[0].text.startswith("A private app's scopes (this app, id 2011410) were changed by Bob Ray")
    assert "27 Nov 10:00 UTC" in result.findings[0].text
    assert "before this check" in result.findings[0].text
    assert "does not say which scopes" in result.findings[0].advice


def test_actor_without_a_known_name_is_shown_by_email_then_id() -> None:
    log = events(
        record("SERVICE_KEY_ROTATE", "2026-11-28T13:00:00Z", by="555", email="eve@example.com"),
        record("SERVICE_KEY_DEACTIVATE", "2026-11-28T12:00:00Z", by="556", email=None),
    )
    texts = [f.text for f in token_forensics(log, kind="invalid_token", anchor=PASTE, now=NOW, names=NAMES).findings]
    assert "by eve@example.com at 13:00 UTC" in texts[0]
    assert "by user 556 at 12:00 UTC" in texts[1]


def test_newest_first_and_each_kind_picks_its_own_events() -> None:
    log = events(
        record("PRIVATE_APP_ACCESS_TOKEN_ROTATE", "2026-11-27T08:00:00Z"),
        record("PRIVATE_APP_SCOPE_GROUPS_UPDATE", "2026-11-28T08:00:00Z"),
        record("PUBLIC_APP_CLIENT_SECRET_WRITE", "2026-11-26T08:00:00Z"),
    )
    invalid = token_forensics(log, kind="invalid_token", anchor=PASTE, now=NOW)
    scopes = token_forensics(log, kind="missing_scopes", anchor=PASTE, now=NOW)
    refresh = token_forensics(log, kind="refresh_token_error", anchor=PASTE, now=NOW)
    assert [f.event_type for f in invalid.findings] == ["PRIVATE_APP_ACCESS_TOKEN_ROTATE"]
    assert [f.event_type for f in scopes.findings] == ["PRIVATE_APP_SCOPE_GROUPS_UPDATE"]
    assert [f.event_type for f in refresh.findings] == ["PUBLIC_APP_CLIENT_SECRET_WRITE"]


def test_nothing_in_the_log_is_said_plainly() -> None:
    result = token_forensics([], kind="missing_scopes", anchor=PASTE, now=NOW)
    assert result.findings[0].kind == "nothing_found"
    assert result.findings[0].text.startswith("HubSpot's security log shows no private app scope change")
    assert "the 7 days before the paste" in result.findings[0].text


def test_kinds_without_token_forensics_give_nothing() -> None:
    assert token_forensics([], kind="not_found", anchor=PASTE, now=NOW).empty


def test_an_unreadable_log_is_a_gap_naming_the_scope() -> None:
    gap = missing_scope_gap("the security activity log", SECURITY_SCOPE, ("tickets", "oauth"))
    assert gap is not None
    result = token_forensics(gap, kind="invalid_token", anchor=PASTE, now=NOW)
    assert result.findings == ()
    assert result.lines() == [
        "Unknown: the security activity log, because hsperm's HubSpot token lacks the scope "
        "`account-info.security.read`. Adding the scope `account-info.security.read` to hsperm's HubSpot app "
        "would unlock it."
    ]
    assert missing_scope_gap("x", SECURITY_SCOPE, (SECURITY_SCOPE,)) is None
    assert missing_scope_gap("x", SECURITY_SCOPE, None) is None


def test_a_partial_read_says_older_records_are_unknown() -> None:
    log = events(record("PRIVATE_APP_ACCESS_TOKEN_ROTATE", "2026-11-28T14:01:00Z"))
    result = token_forensics(log, kind="invalid_token", anchor=PASTE, now=NOW, truncated=True)
    assert len(result.findings) == 1
    assert result.gaps[0].text.startswith("Unknown: older records in that window")


# -- gaps from failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "category", "kind", "expected_kind", "words"),
    [
        (403, "MISSING_SCOPES", None, "scope", "lacks the scope `account-info.security.read`"),
        (403, "FORBIDDEN", None, "tier", "HubSpot refused the read (403); the account's subscription may not include"),
        (429, "RATE_LIMITS", None, "rate_limit", "rate limit stopped the read; try again in 10 s"),
        (503, None, None, "unavailable", "server error (HTTP 503)"),
        (None, None, "unavailable", "unavailable", "HubSpot did not answer"),
        (401, "INVALID_AUTHENTICATION", None, "auth", "rejected hsperm's token (401)"),
        (400, "VALIDATION_ERROR", None, "error", "answered the read with HTTP 400"),
    ],
)
def test_every_failure_becomes_a_gap(status, category, kind, expected_kind, words) -> None:
    gap = gap_for_failure(
        "the security activity log",
        SECURITY_SCOPE,
        status=status,
        category=category,
        kind=kind,
        tier_note=SECURITY_TIER_NOTE,
        retry_hint="in 10 s",
    )
    assert gap.kind == expected_kind
    assert words in gap.text
    assert gap.text.startswith("Unknown: the security activity log, because ")
    assert ("would unlock it" in gap.text) == (expected_kind == "scope")


# -- user forensics ----------------------------------------------------------------------------


def test_events_about_the_user_are_those_whose_object_is_the_user() -> None:
    log = events(
        record("TEAM_USER_DELETED", "2026-11-28T14:02:00Z", obj=ANN),  # about Ann, by Bob
        record("REMOVE_USER", "2026-11-28T11:00:00Z", by=ANN, email="ann@example.com", obj=SUE),  # BY Ann: not about her
        record("ADD_ADMIN_PERMISSIONS", "2026-11-27T09:00:00Z", obj=SUE),  # about Sue
    )
    result = user_forensics(
        log,
        logins(login("2026-11-28T08:00:00Z"), login("2026-11-28T09:00:00Z", ok=False)),
        user_id=ANN,
        name="Ann",
        now=NOW,
        current_teams=["East"],
        names=NAMES,
    )
    lines = result.lines()
    assert lines[0] == (
        "Ann was removed from a team by Bob Ray at 14:02 UTC (the log does not say which team; Ann is now on team East)."
    )
    assert lines[1] == "Last successful login: 08:00 UTC."
    assert lines[2] == (
        "Ann's team membership changed (14:02 UTC) after Ann's last login (08:00 UTC). "
        "HubSpot applies permission changes at the next login: Ann must log out and back in."
    )
    assert len(lines) == 3
    assert not any("Sue" in line for line in lines)


def test_a_login_after_the_change_needs_no_relogin() -> None:
    log = events(record("TEAM_USER_ADDED", "2026-11-27T10:00:00Z", obj=ANN))
    result = user_forensics(
        log, logins(login("2026-11-28T08:00:00Z")), user_id=ANN, name="Ann", now=NOW, current_teams=["East", "West"]
    )
    kinds = [f.kind for f in result.findings]
    assert kinds == ["team_user_added", "last_login"]
    assert "Ann is now on teams East and West" in result.findings[0].text
    assert "by user 1296619" not in result.findings[0].text  # the acting email is shown when no name is known
    assert "by bob@example.com at 27 Nov 10:00 UTC" in result.findings[0].text


def test_admin_changes_are_paired_with_the_current_super_admin_flag() -> None:
    log = events(record("REMOVE_ADMIN_PERMISSIONS", "2026-11-28T12:00:00Z", obj=ANN))
    result = user_forensics(log, [], user_id=ANN, name="Ann", now=NOW, super_admin=False, names=NAMES)
    assert result.findings[0].text == (
        "Ann's admin permissions were removed by Bob Ray at 12:00 UTC (Ann is not a Super Admin now)."
    )
    assert result.findings[1].text == "Ann has no successful login in HubSpot's login history (it covers 90 days)."
    assert result.findings[2].text == "Ann's admin rights changed (12:00 UTC) and Ann has not logged in since."


def test_deactivation_is_reported_without_a_relogin_note() -> None:
    log = events(record("DEACTIVATE_USER", "2026-11-28T12:00:00Z", obj=ANN))
    result = user_forensics(log, logins(login("2026-11-28T08:00:00Z")), user_id=ANN, name="Ann", now=NOW, names=NAMES)
    assert result.findings[0].text == "Ann was deactivated by Bob Ray at 12:00 UTC."
    assert "relogin_needed" not in [f.kind for f in result.findings]


def test_quiet_log_says_so_and_that_permission_sets_are_not_recorded() -> None:
    result = user_forensics([], logins(login("2026-11-28T08:00:00Z")), user_id=ANN, name="Ann", now=NOW)
    assert result.findings[0].kind == "nothing_found"
    assert "does not record permission set changes" in result.findings[0].text


def test_each_unreadable_source_is_its_own_gap_and_the_other_still_answers() -> None:
    no_scope = Gap("the security activity log", "hsperm's HubSpot token lacks the scope `x`", "scope", "x")
    down = gap_for_failure("Ann's login history", SECURITY_SCOPE, status=502)
    result = user_forensics(no_scope, logins(login("2026-11-28T08:00:00Z")), user_id=ANN, name="Ann", now=NOW)
    assert [f.kind for f in result.findings] == ["last_login"]
    assert result.gaps == (no_scope,)
    result = user_forensics(events(), down, user_id=ANN, name="Ann", now=NOW)
    assert [f.kind for f in result.findings] == ["nothing_found"]
    assert result.gaps == (down,)


def test_last_login_ignores_failures_and_other_users() -> None:
    rows = logins(
        login("2026-11-28T10:00:00Z", ok=False),
        login("2026-11-28T11:00:00Z", user=BOB),
        login("2026-11-27T10:00:00Z"),
        login("2026-11-26T10:00:00Z"),
    )
    last = last_successful_login(rows, ANN)
    assert last is not None
    assert last.login_at == datetime(2026, 11, 27, 10, tzinfo=UTC)


def test_logged_in_since_the_fix_both_ways() -> None:
    fix = datetime(2026, 11, 28, 9, tzinfo=UTC)
    yes = logged_in_since(logins(login("2026-11-28T10:00:00Z")), user_id=ANN, name="Ann", since=fix, now=NOW)
    no = logged_in_since(logins(login("2026-11-28T08:00:00Z")), user_id=ANN, name="Ann", since=fix, now=NOW)
    assert isinstance(yes, Finding) and isinstance(no, Finding)
    assert yes.line == "Ann has logged in since the fix (last successful login 10:00 UTC), so the change applies."
    assert no.line == (
        "Ann has not yet logged in since the fix (09:00 UTC). "
        "HubSpot applies permission changes at the next login: Ann must log out and back in."
    )
    gap = Gap("Ann's login history", "HubSpot had a server error (HTTP 503)", "unavailable")
    assert logged_in_since(gap, user_id=ANN, name="Ann", since=fix, now=NOW) is gap


# -- budget and seats -------------------------------------------------------------------------


def usage_row(current: int, limit: int = 250000):
    return ApiUsage.from_api(
        {
            "name": "private-apps-api-calls-daily",
            "usageLimit": limit,
            "currentUsage": current,
            "collectedAt": "2026-11-28T14:00:00.000Z",
            "fetchStatus": "SUCCESS",
            "resetsAt": "2026-11-29T05:00:00.000Z",
        }
    )


def test_daily_usage_at_the_limit_says_numbers_reset_and_what_to_do() -> None:
    result = daily_usage([usage_row(250000)], now=NOW)
    finding = result.findings[0]
    assert finding.text == (
        "Private apps in this account have used 250,000 of 250,000 daily API calls (100%) as of 14:00 UTC; "
        "the daily limit is shared by every private app in the account. It resets at 29 Nov 05:00 UTC (in 14 hours)."
    )
    assert finding.advice and "429 until then" in finding.advice


def test_daily_usage_below_the_limit_has_no_advice() -> None:
    finding = daily_usage([usage_row(125000)], now=NOW).findings[0]
    assert "(50%)" in finding.text
    assert finding.advice is None


def test_daily_usage_without_figures_or_readable_answer_is_a_gap() -> None:
    assert daily_usage([], now=NOW).gaps[0].text.startswith("Unknown: the private apps' daily API usage")
    gap = gap_for_failure("the private apps' daily API usage", "oauth", status=403, category="MISSING_SCOPES")
    assert daily_usage(gap, now=NOW).lines() == [gap.text]
    assert "`oauth`" in gap.text


def seats(*rows):
    return parse_records(rows, Seat.from_api)


def test_seat_check_before_a_seat_change() -> None:
    rows = seats(
        {"name": "sales", "description": "Sales Hub Professional", "remainingSeats": 0},
        {"name": "service", "remainingSeats": 2},
        {"name": "core"},
    )
    none_left = seat_check(rows, "Sales")
    assert isinstance(none_left, Finding)
    assert none_left.line == (
        "No sales seat is left (0 remaining). Buy a sales seat, or take one from a user who no longer needs it, "
        "before this change."
    )
    two = seat_check(rows, "service")
    assert isinstance(two, Finding) and two.text == "2 service seats left."
    unknown = seat_check(rows, "core")
    assert isinstance(unknown, Gap) and "no `remainingSeats`" in unknown.text
    missing = seat_check(rows, "marketing")
    assert isinstance(missing, Finding) and missing.text == (
        "This account has no marketing seat type: HubSpot lists sales, service, core."
    )


def test_forensics_to_dict_is_json_ready() -> None:
    log = events(record("PRIVATE_APP_ACCESS_TOKEN_ROTATE", "2026-11-28T14:01:00Z"))
    data = token_forensics(log, kind="invalid_token", anchor=PASTE, now=NOW).to_dict()
    assert data["findings"][0]["when"] == "2026-11-28T14:01:00+00:00"
    assert data["findings"][0]["event_type"] == "PRIVATE_APP_ACCESS_TOKEN_ROTATE"
    assert data["gaps"] == []
    assert data["scope_note"].startswith("the 7 days before the paste")
