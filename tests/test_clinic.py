"""The deep-dive summary carries the performance clinic's calendar invitation."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

from icalendar import Calendar

from digest import calendar
from digest.delivery.site import load_site
from digest.email.prepare import batch_for

REPO = Path(__file__).resolve().parent.parent
DEADLINE = date(2026, 11, 19)


def summary_messages() -> list[bytes]:
    loaded = load_site(REPO, DEADLINE)
    schedule = loaded.site.schedule("deep-dive-summary")
    assert schedule is not None
    occurrence = calendar.occurrence_on(loaded.site, schedule, DEADLINE)
    assert occurrence is not None
    return [m.outgoing.raw for m in batch_for(loaded, occurrence)]


def test_the_summary_attaches_one_clinic_event_with_the_measures_and_their_owners() -> None:
    raws = summary_messages()
    assert raws
    for raw in raws:
        message = message_from_bytes(raw, policy=policy.default)
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1 and parts[0].get_param("method") == "PUBLISH"
        (event,) = Calendar.from_ical(parts[0].get_content()).walk("VEVENT")
        assert str(event["summary"]) == "Performance clinic: Social Care October 2026"
        assert event["dtstart"].dt.date() > DEADLINE  # after the window has closed
        assert "lead officer: Janet Okafor" in str(event["description"])
        attendees = {str(a) for a in event.get("attendee", [])}
        assert "mailto:janet.okafor@kestrelvale.example.gov.uk" in attendees
        assert "calendar invitation for the performance clinic is attached" in raw.decode()
