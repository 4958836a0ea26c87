"""As of a date: nothing recorded later leaks into an earlier date's digest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest import calendar
from digest.delivery.site import load_site
from digest.email.prepare import batch_for
from digest.model import DeepDiveRequest

REPO = Path(__file__).resolve().parent.parent


def messages(schedule_id: str, on: date) -> list[str]:
    loaded = load_site(REPO, date(2026, 11, 30))
    schedule = loaded.site.schedule(schedule_id)
    assert schedule is not None
    occurrence = calendar.occurrence_due_on(loaded.site, schedule, on)
    assert occurrence is not None
    return [m.text for m in batch_for(loaded, occurrence)]


def test_the_12_november_tracker_does_not_link_the_scorecard_published_on_13_november() -> None:
    for text in messages("monthly-tracker", date(2026, 11, 12)):
        assert "performance/social-care/2026-10" in text
        assert "performance/early-help/2026-10" not in text


def test_the_reminder_leaves_out_only_members_who_had_asked_by_its_date() -> None:
    loaded = load_site(REPO, date(2026, 11, 30))
    schedule = loaded.site.schedule("deep-dive-reminder")
    assert schedule is not None
    occurrence = calendar.occurrence_due_on(loaded.site, schedule, date(2026, 11, 17))
    assert occurrence is not None
    asked_later = {r.requested_by for r in loaded.site.requests if r.requested_on > occurrence.on}
    assert "tom-ellery" in asked_later  # asked on 19 November
    reminded = {m.outgoing.recipient.id for m in batch_for(loaded, occurrence)}
    assert "tom-ellery" in reminded
    assert "gwen-haworth" not in reminded  # asked on 16 November


def test_a_site_as_of_a_date_keeps_only_what_was_recorded_by_then() -> None:
    site = load_site(REPO, date(2026, 11, 30)).site
    earlier = site.as_of(date(2026, 11, 12))
    assert max(p.published_on for p in earlier.publications) == date(2026, 11, 12)
    assert all(r.requested_on <= date(2026, 11, 12) for r in earlier.requests)
    assert isinstance(site.requests[0], DeepDiveRequest)
