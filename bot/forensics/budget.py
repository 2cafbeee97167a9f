"""The account's shared daily API budget (on a DAILY 429) and its paid seats (before a seat change)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.forensics.records import DAILY_USAGE_NAME, ApiUsage, Seat
from bot.forensics.statements import Finding, Forensics, Gap, ago, format_when


def daily_usage(rows: Sequence[ApiUsage] | Gap, *, now: datetime) -> Forensics:
    """On a DAILY 429: how much of the account's shared private-app budget is used, and when it resets."""
    title = "Private apps' daily API budget"
    if isinstance(rows, Gap):
        return Forensics(title, gaps=(rows,))
    row = next((r for r in rows if r.name == DAILY_USAGE_NAME), rows[0] if rows else None)
    if row is None or row.usage_limit is None or row.current_usage is None:
        gap = Gap("the private apps' daily API usage", "HubSpot's answer had no usage figures", "error")
        return Forensics(title, gaps=(gap,))
    pct = 100.0 * row.current_usage / row.usage_limit if row.usage_limit else 100.0
    text = (
        f"Private apps in this account have used {row.current_usage:,} of {row.usage_limit:,} daily API calls ({pct:.0f}%)"
    )
    if row.collected_at:
        text += f" as of {format_when(row.collected_at, now)}"
    text += "; the daily limit is shared by every private app in the account."
    if row.resets_at:
        left = row.resets_at - now
        reset = f"It resets at {format_when(row.resets_at, now)}"
        reset += f" (in {ago(left)})." if left > timedelta(0) else "."
    else:
        reset = "It resets at midnight in the account's time zone."
    advice = None
    if row.current_usage >= row.usage_limit:
        advice = "Calls fail with 429 until then: pause the heaviest integration, or batch its calls."
    return Forensics(
        title,
        (Finding(kind="daily_usage", text=f"{text} {reset}", when=row.collected_at, advice=advice),),
    )


def seat_check(seats: Sequence[Seat] | Gap, seat_name: str) -> Finding | Gap:
    """Before proposing a change that needs a paid seat: is one left?"""
    if isinstance(seats, Gap):
        return seats
    wanted = seat_name.strip().lower()
    seat = next((s for s in seats if s.name.lower() == wanted), None)
    label = seat.name if seat else seat_name
    if seat is None:
        return Finding(
            kind="seat_unknown",
            text=f"This account has no {label} seat type: HubSpot lists {', '.join(s.name for s in seats) or 'none'}.",
        )
    if seat.remaining is None:
        return Gap(f"how many {label} seats are left", "HubSpot did not say (no `remainingSeats`)", "error")
    if seat.remaining <= 0:
        return Finding(
            kind="no_seat_left",
            text=f"No {label} seat is left (0 remaining).",
            advice=f"Buy a {label} seat, or take one from a user who no longer needs it, before this change.",
        )
    return Finding(kind="seat_available", text=f"{seat.remaining} {label} seat{'s' if seat.remaining != 1 else ''} left.")
