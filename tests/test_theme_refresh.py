"""The six-monthly theme refresh: every member is asked to review the themes they follow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from digest import calendar
from digest.delivery.site import load_site
from digest.email.kinds import KINDS, SCHEDULED
from digest.email.prepare import batch_for

REPO = Path(__file__).resolve().parent.parent
NEW_YEAR = date(2027, 1, 1)


def test_it_is_a_registered_kind_a_schedule_can_name() -> None:
    assert "theme-refresh" in KINDS and SCHEDULED["theme-refresh"] == "any"


def test_the_demo_site_asks_every_member_on_1_january_and_1_july() -> None:
    loaded = load_site(REPO, NEW_YEAR)
    schedule = loaded.site.schedule("theme-refresh")
    assert schedule is not None
    start = datetime(2027, 1, 1, tzinfo=UTC)
    days = [o.on for o in calendar.occurrences_between(loaded.site, start, start.replace(year=2028))
            if o.schedule.id == "theme-refresh"]  # fmt: skip
    assert days == [date(2027, 1, 1), date(2027, 7, 1)]
    occurrence = calendar.occurrence_on(loaded.site, schedule, NEW_YEAR)
    assert occurrence is not None
    messages = list(batch_for(loaded, occurrence))
    members = {r.id for r in loaded.site.audience(("role:member",))}
    assert {m.outgoing.recipient.id for m in messages} == members


def test_each_member_is_told_the_themes_they_follow_now() -> None:
    loaded = load_site(REPO, NEW_YEAR)
    schedule = loaded.site.schedule("theme-refresh")
    assert schedule is not None
    occurrence = calendar.occurrence_on(loaded.site, schedule, NEW_YEAR)
    assert occurrence is not None
    for message in batch_for(loaded, occurrence):
        recipient = message.outgoing.recipient
        if recipient.themes:
            assert "Children in care" in message.text or "Early help" in message.text
        else:
            assert "You follow no themes yet" in message.text.replace("\n", " ")
        assert "The themes you can follow: Care leavers" in message.text
