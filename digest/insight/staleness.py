"""Whether a measure's figures are stale: a period that is due by a date is missing.

Working days come from the caller (digest.calendar knows the bank holidays and
closures); insight only asks the calendar it is given, so it stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from digest.model import DataSettings, Frequency, Span

WEEKLY_DUE = 3
"""A week's value is due this many working days after the week ends."""


class WorkingCalendar(Protocol):
    """What staleness needs of a calendar (digest.calendar.WorkingDays has it)."""

    def is_working_day(self, day: date) -> bool: ...

    def add_working_days(self, day: date, n: int) -> date: ...


@dataclass(frozen=True)
class WeekdaysOnly:
    """A calendar with no holidays: for callers (and tests) without a site."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5

    def add_working_days(self, day: date, n: int) -> date:
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day


@dataclass(frozen=True)
class DueRules:
    """When each frequency's next period is due: the site's working days and [data]."""

    calendar: WorkingCalendar = field(default_factory=WeekdaysOnly)
    data: DataSettings = field(default_factory=DataSettings)

    def after(self, day: date, span: Span) -> date:
        if span.unit == "working days":
            return self.calendar.add_working_days(day, span.count)
        return day + span.as_timedelta()


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _months_later(period_end: date, months: int) -> date:
    index = period_end.year * 12 + period_end.month - 1 + months
    return _month_end(index // 12, index % 12 + 1)


def _next_working_day(day: date, calendar: WorkingCalendar) -> date:
    day += timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def is_stale(
    latest: date | None, frequency: Frequency, on: date, due: DueRules | None = None
) -> bool:
    """Whether the period after `latest` is due by `on` (so a due value is missing).

    daily: each working day's value is due the next day, so on `on` the previous working
    day's is expected (weekends and bank holidays are not). weekly: 3 working days after
    the week. monthly and quarterly: [data] monthly_due / quarterly_due after the period
    ends. annual: within two years of `on` to the day. No period at all is stale.
    """
    if latest is None:
        return True
    due = due or DueRules()
    if frequency == "daily":
        return _next_working_day(latest, due.calendar) < on
    if frequency == "weekly":
        next_week = latest + timedelta(weeks=1)
        return due.calendar.add_working_days(next_week, WEEKLY_DUE) <= on
    if frequency == "monthly":
        return due.after(_months_later(latest, 1), due.data.monthly_due) <= on
    if frequency == "quarterly":
        return due.after(_months_later(latest, 3), due.data.quarterly_due) <= on
    two_years_before = date(on.year - 2, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    return latest < two_years_before
