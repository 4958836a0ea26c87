"""The performance clinic's calendar invitation, sent with the deep-dive summary (.ics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from digest import calendar
from digest.calendar.words import format_month
from digest.email.content import RequestGroup
from digest.email.words import scorecard_title
from digest.model import Publication, Site

# A proposal the team moves to a real slot: five working days after the deadline, 14:00.
CLINIC_AFTER_WORKING_DAYS = 5
CLINIC_STARTS = time(14, 0)
CLINIC_LASTS = timedelta(minutes=90)


def clinic_invitation(
    site: Site, publication: Publication, groups: Sequence[RequestGroup], owners: Sequence[str]
) -> str:
    """An iCalendar (METHOD:PUBLISH) event for the clinic: the measures asked for, and who owns them."""
    deadline = calendar.deep_dive_deadline(publication, site.settings)
    workdays = calendar.WorkingDays.from_settings(site.settings)
    day = workdays.add_working_days(deadline, CLINIC_AFTER_WORKING_DAYS)
    zone = calendar.site_timezone(site.settings)
    start = calendar.resolve_local(day, CLINIC_STARTS, zone)
    card = f"{scorecard_title(publication.scorecard)} {format_month(publication.period_end)}"
    event = Event()
    event.add("uid", f"clinic-{publication.scorecard}-{publication.period_end}@digest")
    event.add("dtstamp", start)
    event.add("dtstart", start)
    event.add("dtend", start + CLINIC_LASTS)
    event.add("summary", f"Performance clinic: {card}")
    event.add("status", "TENTATIVE")
    event.add("description", _description(card, groups))
    for address in owners:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    invitation = Calendar()
    invitation.add("prodid", "-//digest//performance clinic//EN")
    invitation.add("version", "2.0")
    invitation.add("method", "PUBLISH")
    invitation.add_component(event)
    ical: bytes = invitation.to_ical()
    return ical.decode("utf-8")


def _description(card: str, groups: Sequence[RequestGroup]) -> str:
    lines = [f"Deep dives members asked for on the {card} scorecard:"]
    for group in groups:
        lines.append(
            f"- {group.title} (lead officer: {group.owner}): {len(group.requesters)} request(s)"
        )
    lines.append("A proposed time: move it to when the lead officers can attend.")
    return "\n".join(lines)
