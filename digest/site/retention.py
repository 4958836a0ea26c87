"""The `[retention]` table of schedules.toml: how long the exact messages and records are kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from digest.calendar.months import months_before
from digest.errors import Problem
from digest.settings import RETENTION
from digest.site.config import SCHEDULES
from digest.site.fields import Table
from digest.site.toml import TomlSyntaxError, parse

PERIOD = re.compile(r"^\s*(\d+)\s+(day|month|year)s?\s*$")
MONTHS = {"month": 1, "year": 12}


@dataclass(frozen=True)
class Period:
    """A length of calendar time: days, or whole calendar months (a year is 12)."""

    months: int = 0
    days: int = 0

    def before(self, instant: datetime) -> datetime:
        """The instant this long before `instant`: "6 months" before 31 August is 28 February."""
        return months_before(instant, self.months) - timedelta(days=self.days)

    def longest(self) -> timedelta:
        """At most how long it is (months of 31 days): exact for comparing months with months."""
        return timedelta(days=self.days + 31 * self.months)


def period(text: str) -> Period | None:
    """ "2 years", "18 months" or "90 days" as a period, or None."""
    found = PERIOD.match(text)
    if found is None:
        return None
    count, unit = int(found.group(1)), found.group(2)
    return Period(days=count) if unit == "day" else Period(months=count * MONTHS[unit])


@dataclass(frozen=True)
class Retention:
    """`[retention]`: the bytes kept `messages` long, the records `records` long."""

    messages: Period = Period(months=24)
    records: Period = Period(months=72)


def _period(table: Table, key: str) -> Period | None:
    text = table.text(key, RETENTION[key].default)
    if text is None:
        return None
    found = period(text)
    if found is None:
        table.problem(key, f'{key} "{text}" must be like "2 years", "18 months" or "90 days"')
    return found


def read_retention(root: Path) -> tuple[Retention, list[Problem]]:
    """`[retention]` from the site's schedules.toml (the defaults when absent)."""
    try:
        data, lines = parse((root / SCHEDULES).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TomlSyntaxError):
        return Retention(), []
    raw = data.get("retention")
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(
                Problem(SCHEDULES, lines.table("retention"), "write [retention] as a table")
            )
        return Retention(), problems
    table = Table(SCHEDULES, lines, "retention", 0, raw, problems)
    table.check_keys(RETENTION.keys())
    messages, records = _period(table, "messages"), _period(table, "records")
    if messages and records and records.longest() < messages.longest():
        table.problem("records", "records must be kept at least as long as messages")
    return Retention(messages or Retention.messages, records or Retention.records), problems

