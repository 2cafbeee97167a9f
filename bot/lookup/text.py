"""The lookup report for a terminal: verdict first, then the facts behind it, then the gaps."""

from __future__ import annotations

from bot.forensics import Forensics
from bot.lookup.report import AccessFacts, PermissionReport, TicketFacts, TokenFacts, UserFacts

TOKEN_KINDS = {"private_app": "private app / service key", "oauth": "OAuth access token"}
LINK_LABELS = {"users_settings": "Users & Teams settings", "ticket": "Ticket"}


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _row(label: str, value: object) -> str:
    return f"  {label + ':':<16}{value}"


def render_report_text(report: PermissionReport) -> str:
    """The report for a terminal: verdict first, then the facts behind it, then the gaps."""
    head = f"hsperm lookup: {report.email}"
    if report.ticket_id:
        head += f", ticket {report.ticket_id}"
    if report.portal_id:
        head += f", portal {report.portal_id}"
    lines = [head, "", f"Verdict: {report.verdict}"]
    for section in (
        _user(report.user),
        _ticket(report.ticket),
        _access(report.access),
        _token(report.token),
        *(_forensics(section) for section in report.forensics),
        _bullets("What the API cannot tell", report.unknowns),
        _bullets("Notes", report.notes),
        _problems(report),
        _links(report.links),
    ):
        if section:
            lines += ["", *section]
    return "\n".join(lines)


def _user(user: UserFacts | None) -> list[str]:
    if user is None:
        return []
    if not user.found:
        return [f"User: no HubSpot user with email {user.email}"]
    if user.owner_id:
        owner = f", owner id {user.owner_id}"
    else:
        owner = ", no CRM owner record" if user.owner_checked else ", owner id unknown"
    teams = [f"{t.label} (primary)" if t is user.primary_team else t.label for t in user.teams]
    return [
        "User",
        _row("Name", f"{user.name} <{user.email}> (user id {user.user_id}{owner})"),
        _row("Super Admin", _yes_no(user.super_admin)),
        _row("Permission set", ", ".join(r.label for r in user.roles) or "none"),
        _row("Teams", ", ".join(teams) or "none"),
        _row("Seats", ", ".join(user.seats) or "none"),
    ]


def _ticket(ticket: TicketFacts | None) -> list[str]:
    if ticket is None:
        return []
    if not ticket.found:
        return [f"Ticket {ticket.id}: not found"]
    if ticket.owner_id:
        extra = f", user id {ticket.owner_user_id}" if ticket.owner_user_id else ""
        owner = f"{ticket.owner_name or 'unknown name'} (owner id {ticket.owner_id}{extra})"
    else:
        owner = "none (unassigned)"
    lines = [
        f"Ticket {ticket.id}",
        _row("Subject", ticket.subject or "(none)"),
        _row("Owner", owner),
        _row("Team", ticket.team.label if ticket.team else "none"),
    ]
    if ticket.url:
        lines.append(_row("Link", ticket.url))
    return lines


def _access(access: AccessFacts | None) -> list[str]:
    if access is None:
        return []
    if not access.answered:
        return ["HubSpot's per-record check (beta)", _row("No answer", access.reason)]
    return [
        "HubSpot's per-record check (beta)",
        _row("Can view", _yes_no(access.can_view)),
        _row("Can edit", _yes_no(access.can_edit)),
    ]


def _token(token: TokenFacts | None) -> list[str]:
    if token is None:
        return []
    lines = [
        "hsperm's token",
        _row("Kind", f"{TOKEN_KINDS.get(token.kind, token.kind)}, portal {token.hub_id or 'unknown'}"),
        _row("Scopes", ", ".join(token.scopes) or "none"),
    ]
    if not token.required:
        return lines
    lines.append(_row("Required", ", ".join(token.required)))
    if token.permission_names:
        names = ", ".join(token.permission_names)
        lines.append(_row("", f"{names}: HubSpot user permission names, not OAuth scopes; no token scope grants them."))
    if token.has_required is not None:
        lines.append(_row("Has one", f"yes ({', '.join(token.granted)})" if token.has_required else "no"))
    return lines


def _forensics(section: Forensics) -> list[str]:
    title = section.title + (f", {section.scope_note}" if section.scope_note else "")
    return _bullets(title, section.lines())


def _bullets(title: str, items: list[str]) -> list[str]:
    return [title, *(f"  - {item}" for item in items)] if items else []


def _problems(report: PermissionReport) -> list[str]:
    if not report.problems:
        return []
    lines = ["Problems (facts above are partial)"]
    for problem in report.problems:
        lines.append(f"  - [{', '.join(problem.steps or (problem.step,))}] {problem.message}")
    return lines


def _links(links: dict[str, str]) -> list[str]:
    return ["Links", *(f"  {LINK_LABELS.get(k, k)}: {v}" for k, v in links.items())] if links else []
