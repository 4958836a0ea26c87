"""Working days: weekends, the bank holidays of the site's nation, and closures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from digest.model import SiteSettings

# The `holidays` package models the four UK nations as subdivisions of holidays.UK.
HOLIDAY_NATIONS: dict[str, str | None] = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern-ireland": "NIR",
    "none": None,
}


@lru_cache(maxsize=256)
def _bank_holidays(nation: str, year: int) -> frozenset[date]:
    """The bank holidays of one nation in one year (cached: asked for on every day listed)."""
    subdiv = HOLIDAY_NATIONS[nation]
    if subdiv is None:
        return frozenset()
    return frozenset(holidays.country_holidays("GB", subdiv=subdiv, years=year))


@dataclass(frozen=True)
class WorkingDays:
    """Working days: not a weekend, not a bank holiday of `nation`, not a closure."""

    nation: str = "none"
    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.nation not in HOLIDAY_NATIONS:
            known = " | ".join(HOLIDAY_NATIONS)
            raise ValueError(f"unknown holidays {self.nation!r}: use {known}")

    @classmethod
    def from_settings(cls, settings: SiteSettings) -> WorkingDays:
        """The working days of a site."""
        return _working_days(settings.holidays, frozenset(settings.closures))

    def is_bank_holiday(self, day: date) -> bool:
        return day in _bank_holidays(self.nation, day.year)

    def is_working_day(self, day: date) -> bool:
        return not (day.weekday() >= 5 or day in self.closures or self.is_bank_holiday(day))

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day`; n=0 is `day` itself, working or not."""
        if n < 0:
            return self.subtract_working_days(day, -n)
        for _ in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def subtract_working_days(self, day: date, n: int) -> date:
        """The n-th working day before `day`; n=0 is `day` itself, working or not."""
        if n < 0:
            return self.add_working_days(day, -n)
        for _ in range(n):
            day -= timedelta(days=1)
            while not self.is_working_day(day):
                day -= timedelta(days=1)
        return day


@lru_cache(maxsize=64)
def _working_days(nation: str, closures: frozenset[date]) -> WorkingDays:
    return WorkingDays(nation, closures)

