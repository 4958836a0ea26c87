"""`[retention]` in calendar months and years: "6 months" before 31 August is 28 February."""

from __future__ import annotations

from datetime import UTC, datetime

from digest.calendar.months import months_before
from digest.delivery import outbox
from digest.delivery.retention import purge
from digest.delivery.store import Store
from digest.site.retention import Period, Retention, period
from tests.conftest import build_message


def test_months_are_calendar_months_ending_on_a_shorter_months_last_day() -> None:
    end_of_august = datetime(2026, 8, 31, 10, 0, tzinfo=UTC)
    assert months_before(end_of_august, 6) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert months_before(datetime(2028, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 1) == datetime(2025, 12, 15, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 13) == datetime(2025, 2, 28, tzinfo=UTC)


def test_years_are_twelve_months_and_days_are_days() -> None:
    assert period("2 years") == Period(months=24)
    assert period("18 months") == Period(months=18)
    assert period("1 month") == Period(months=1)
    assert period("90 days") == Period(days=90)
    assert period("a while") is None
    leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert Period(months=12).before(leap_day) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert Period(days=90).before(leap_day) == datetime(2027, 12, 1, 12, 0, tzinfo=UTC)


def test_purge_keeps_exactly_six_calendar_months(store: Store) -> None:
    now = datetime(2026, 8, 31, 10, 0, tzinfo=UTC)
    outbox.enqueue(store, [build_message("older", occurrence_key="2026-02-27")],
                   datetime(2026, 2, 27, 12, 0, tzinfo=UTC))  # fmt: skip
    outbox.enqueue(store, [build_message("kept", occurrence_key="2026-02-28")],
                   datetime(2026, 2, 28, 10, 0, tzinfo=UTC))  # fmt: skip
    # 6 months of 31 days would have kept both (back to 26 February).
    purged = purge(store, Retention(messages=Period(months=6), records=Period(months=72)), now)
    assert purged.messages == 1
