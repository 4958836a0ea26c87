"""The `[retention]` table of schedules.toml: how long the exact messages and records are kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from digest.errors import Problem
from digest.settings import RETENTION
from digest.site.config import SCHEDULES
from digest.site.fields import Table
from digest.site.toml import TomlSyntaxError, parse

PERIOD = re.compile(r"^\s*(\d+)\s+(day|month|year)s?\s*$")
DAYS = {"day": 1, "month": 31, "year": 366}  # generous: never purged a day early


def period(text: str) -> timedelta | None:
    """ "2 years", "18 months" or "90 days" as a length of time, or None."""
    found = PERIOD.match(text)
    if found is None:
        return None
    return timedelta(days=int(found.group(1)) * DAYS[found.group(2)])


@dataclass(frozen=True)
class Retention:
    """`[retention]`: the bytes kept `messages` long, the records `records` long."""

    messages: timedelta = timedelta(days=2 * 366)
    records: timedelta = timedelta(days=6 * 366)


def _period(table: Table, key: str) -> timedelta | None:
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
    if messages and records and records < messages:
        table.problem("records", "records must be kept at least as long as messages")
    return Retention(messages or Retention.messages, records or Retention.records), problems
