"""Five-field cron expressions, read the way cron reads them, matched by local date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

ONCE_A_DAY_MESSAGE = (
    "cron fires more than once a day; digest sends at most one occurrence per schedule per day"
)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),  # 0 and 7 are both Sunday
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed five-field cron expression (weekdays 0=Sunday, as in cron)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day-of-month field starts with "*"
    any_weekday: bool  # day-of-week field starts with "*"

    def matches(self, day: date) -> bool:
        """Whether the cron fires on this date (cron's rule: both day fields set means either)."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_days and in_weekdays
        return in_days or in_weekdays

    @property
    def first_time(self) -> time:
        """The earliest wall time of the day it fires at."""
        return time(min(self.hours), min(self.minutes))

    @property
    def fires_once_a_day(self) -> bool:
        return len(self.hours) == 1 and len(self.minutes) == 1


def _value(text: str, spec: _Field) -> int:
    if text.isdigit():
        number = int(text)
    elif text in spec.names:
        number = spec.names.index(text) + spec.name_base
    else:
        raise ValueError(f"{spec.name}: {text!r} is not a number or a name")
    if not spec.low <= number <= spec.high:
        raise ValueError(f"{spec.name}: {number} is outside {spec.low}-{spec.high}")
    return number


def _parse_item(item: str, spec: _Field) -> set[int]:
    match = _ITEM.match(item)
    if match is None:
        raise ValueError(f"{spec.name}: cannot read {item!r}")
    base, step_text = match.groups()
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"{spec.name}: step must be at least 1")
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, last = base.split("-")
        low, high = _value(first, spec), _value(last, spec)
        if spec.names is _WEEKDAYS and last.startswith("sun"):
            high = 7  # "fri-sun": Sunday closes the week
        if low > high:
            raise ValueError(f"{spec.name}: range {base!r} runs backwards")
    else:
        low = _value(base, spec)
        high = spec.high if step_text else low  # "5/15" means 5 to the end, every 15
    return set(range(low, high + 1, step))


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _parse_item(item, spec)
    if spec.names is _WEEKDAYS and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@lru_cache(maxsize=256)
def parse_cron(expr: str) -> CronSpec:
    """Parse a five-field cron expression; ValueError says what is wrong."""
    parts = expr.strip().lower().split()
    if len(parts) != 5:
        raise ValueError(f"cron needs five fields (minute hour day month weekday), got {expr!r}")
    minutes, hours, days, months, weekdays = (
        _parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)
    )
    return CronSpec(
        minutes, hours, days, months, weekdays, parts[2].startswith("*"), parts[4].startswith("*")
    )


def validate_cron(expr: str) -> str | None:
    """An error message for an unusable cron expression, or None if it is fine."""
    try:
        spec = parse_cron(expr)
    except ValueError as error:
        return str(error)
    if not spec.fires_once_a_day:
        return ONCE_A_DAY_MESSAGE
    return None


# --- wall times to instants ---------------------------------------------------
